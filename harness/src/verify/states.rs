//! Pact's provider-state protocol: `POST {state, params, action: "setup"|"teardown"}` to the
//! provider's state-change URL, once per state, before and after the interactions that need it.

use std::time::Duration;

use parley_contracts::ProviderState;
use serde_json::json;

/// Why a state could not be set.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The endpoint answered, but not with success: the provider cannot set the state up.
    #[error("provider state {state:?} could not be {action}: {url} answered {status}: {body}")]
    Refused {
        state: String,
        action: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    /// The endpoint could not be reached at all.
    #[error("provider state {state:?}: the state-change endpoint {url} is unreachable: {source}")]
    Unreachable {
        state: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("interaction needs provider state {state:?} but no --state-url was given")]
    NoStateUrl { state: String },
}

pub struct StateClient<'a> {
    pub client: &'a reqwest::Client,
    pub url: Option<&'a str>,
    pub timeout: Duration,
}

impl StateClient<'_> {
    pub async fn setup(&self, states: &[ProviderState]) -> Result<(), StateError> {
        for s in states {
            self.change(s, "setup").await?;
        }
        Ok(())
    }

    pub async fn teardown(&self, states: &[ProviderState]) -> Result<(), StateError> {
        for s in states.iter().rev() {
            self.change(s, "teardown").await?;
        }
        Ok(())
    }

    async fn change(&self, state: &ProviderState, action: &'static str) -> Result<(), StateError> {
        let Some(url) = self.url else {
            // Without a state endpoint, teardown has nothing to undo; a setup is required.
            return if action == "teardown" {
                Ok(())
            } else {
                Err(StateError::NoStateUrl {
                    state: state.name.clone(),
                })
            };
        };
        let body = json!({ "state": state.name, "params": state.params, "action": action });
        let response = self
            .client
            .post(url)
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|source| StateError::Unreachable {
                state: state.name.clone(),
                url: url.to_string(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(StateError::Refused {
            state: state.name.clone(),
            action: if action == "setup" {
                "set up"
            } else {
                "torn down"
            },
            url: url.to_string(),
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        })
    }
}
