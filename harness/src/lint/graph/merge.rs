//! Building a [`ServiceGraph`]: adding services, subjects and datastores, merging the graphs
//! of several inputs, and validating that every name a graph uses is a service it holds.

use super::suggest::closest;
use super::*;
use crate::lint::LintError;

impl ServiceGraph {
    /// Nothing to lint: no service at all.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Adds a service, or merges it into the one of the same name.
    pub fn add_service(&mut self, service: Service) {
        match self.services.get_mut(&service.name) {
            Some(existing) => {
                if existing.kind == ServiceKind::Service {
                    existing.kind = service.kind;
                }
                existing.public = existing.public.or(service.public);
                existing.propagates_correlation_id = existing
                    .propagates_correlation_id
                    .or(service.propagates_correlation_id);
                if existing.description.is_none() {
                    existing.description = service.description;
                }
                existing.origin.absorb(service.origin);
            }
            None => {
                self.services.insert(service.name.clone(), service);
            }
        }
    }

    /// Adds a subject, or merges its producers into the one of the same name.
    pub fn add_subject(&mut self, subject: Subject) {
        match self.subjects.get_mut(&subject.name) {
            Some(existing) => {
                for p in subject.producers {
                    match existing
                        .producers
                        .iter_mut()
                        .find(|e| e.service == p.service)
                    {
                        Some(e) => e.origin.absorb(p.origin),
                        None => existing.producers.push(p),
                    }
                }
                if existing.description.is_none() {
                    existing.description = subject.description;
                }
                existing.origin.absorb(subject.origin);
            }
            None => {
                self.subjects.insert(subject.name.clone(), subject);
            }
        }
    }

    /// Adds a datastore, or merges its users into the one of the same name.
    pub fn add_datastore(&mut self, store: Datastore) {
        match self.datastores.get_mut(&store.name) {
            Some(existing) => {
                if existing.kind.is_none() {
                    existing.kind = store.kind;
                }
                if existing.owner.is_none() {
                    existing.owner = store.owner;
                }
                for u in store.users {
                    if !existing.users.iter().any(|e| e.service == u.service) {
                        existing.users.push(u);
                    }
                }
                existing.origin.absorb(store.origin);
            }
            None => {
                self.datastores.insert(store.name.clone(), store);
            }
        }
    }

    /// Joins another graph into this one: elements with the same identity (a service's name; a
    /// call's caller, callee, method, path and handler; a consumer's service, subject and
    /// durable name) become one, what this graph knows winning over what the other says, and
    /// unknowns filled from the other.
    pub fn merge(&mut self, other: ServiceGraph) {
        for s in other.services.into_values() {
            self.add_service(s);
        }
        let mut calls: std::collections::HashMap<_, usize> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key(), i))
            .collect();
        for c in other.calls {
            match calls.get(&c.key()) {
                Some(&i) => self.calls[i].absorb(c),
                None => {
                    calls.insert(c.key(), self.calls.len());
                    self.calls.push(c);
                }
            }
        }
        for s in other.subjects.into_values() {
            self.add_subject(s);
        }
        let mut consumers: std::collections::HashMap<_, usize> = self
            .consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key(), i))
            .collect();
        for c in other.consumers {
            match consumers.get(&c.key()) {
                Some(&i) => self.consumers[i].absorb(c),
                None => {
                    consumers.insert(c.key(), self.consumers.len());
                    self.consumers.push(c);
                }
            }
        }
        for d in other.datastores.into_values() {
            self.add_datastore(d);
        }
    }

    /// Every service named by a call, producer, consumer or datastore must be in the graph: a
    /// misspelt name is an error at the place it is written, not a new service.
    pub fn validate(&self) -> Result<(), LintError> {
        let check = |name: &str, origin: &Origin, field: &str, what: &str| {
            if self.services.contains_key(name) {
                return Ok(());
            }
            let mut message = format!("{what} names service `{name}`, which is not described");
            if let Some(close) = closest(name, self.services.keys().map(String::as_str)) {
                message.push_str(&format!(" (did you mean `{close}`?)"));
            } else {
                message.push_str(
                    " (add it under `services`, with `kind: external` if it is not yours)",
                );
            }
            Err(LintError::invalid_at(origin.field(field), message))
        };
        for c in &self.calls {
            check(&c.from, &c.origin, "from", "a call")?;
            check(&c.to, &c.origin, "to", "a call")?;
        }
        for s in self.subjects.values() {
            for p in &s.producers {
                check(
                    &p.service,
                    &p.origin,
                    "service",
                    &format!("a producer of {}", s.name),
                )?;
            }
        }
        for c in &self.consumers {
            check(
                &c.service,
                &c.origin,
                "service",
                &format!("a consumer of {}", c.subject),
            )?;
            if let Some(state) = c.probe.as_ref().and_then(|p| p.state.as_ref()) {
                check(
                    &state.service,
                    &c.origin,
                    "probe",
                    &format!("the probe state query of a consumer of {}", c.subject),
                )?;
            }
        }
        for d in self.datastores.values() {
            for u in d.services() {
                check(
                    &u.service,
                    &u.origin,
                    "service",
                    &format!("datastore {}", d.name),
                )?;
            }
        }
        Ok(())
    }
}
