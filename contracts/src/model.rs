//! The contract model every loader produces and every checker reads.
//!
//! It is Pact's model (V4 shape) with two parley extensions on messages: the NATS subject and a
//! JSON Schema for the payload. parley's YAML/JSON contracts, Pact V1–V4 files and the Pact
//! specification's test cases all load into it; matching, rendering, diff and verification
//! work on it alone.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

/// The Pact specification version whose semantics apply (matching differs slightly by version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SpecVersion {
    V1,
    V1_1,
    V2,
    V3,
    #[default]
    V4,
}

impl SpecVersion {
    /// `1.0.0`, `1.1.0`, `2.0.0`, `3.0.0`, `4.0`: as Pact files write it.
    pub fn pact_string(self) -> &'static str {
        match self {
            SpecVersion::V1 => "1.0.0",
            SpecVersion::V1_1 => "1.1.0",
            SpecVersion::V2 => "2.0.0",
            SpecVersion::V3 => "3.0.0",
            SpecVersion::V4 => "4.0",
        }
    }
}

/// Where something was written: a file and, when known, a line and column (1-based).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// What one consumer relies on from one provider.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Contract {
    pub consumer: String,
    pub provider: String,
    pub interactions: Vec<Interaction>,
    /// The semantics the contract was written for (parley's own format: V4).
    pub spec: SpecVersion,
    /// Pact `metadata` other than the spec version, kept for round trips.
    pub metadata: serde_json::Map<String, Value>,
    /// The file it was loaded from.
    pub source: Option<PathBuf>,
}

/// One thing the consumer does with the provider.
#[derive(Clone, Debug, PartialEq)]
pub enum Interaction {
    Http(HttpInteraction),
    /// An asynchronous message (an event the provider publishes).
    Message(MessageInteraction),
    /// A synchronous message: a request and its response(s), e.g. NATS request/reply.
    SyncMessage(SyncMessageInteraction),
}

impl Interaction {
    pub fn description(&self) -> &str {
        &self.common().description
    }

    pub fn common(&self) -> &InteractionCommon {
        match self {
            Interaction::Http(i) => &i.common,
            Interaction::Message(i) => &i.common,
            Interaction::SyncMessage(i) => &i.common,
        }
    }

    pub fn common_mut(&mut self) -> &mut InteractionCommon {
        match self {
            Interaction::Http(i) => &mut i.common,
            Interaction::Message(i) => &mut i.common,
            Interaction::SyncMessage(i) => &mut i.common,
        }
    }

    /// Pact V4's interaction type name.
    pub fn pact_type(&self) -> &'static str {
        match self {
            Interaction::Http(_) => "Synchronous/HTTP",
            Interaction::Message(_) => "Asynchronous/Messages",
            Interaction::SyncMessage(_) => "Synchronous/Messages",
        }
    }
}

/// What every kind of interaction has.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct InteractionCommon {
    pub description: String,
    pub provider_states: Vec<ProviderState>,
    /// Pact V4 `key`, kept for round trips.
    pub key: Option<String>,
    /// Pact V4 `pending`.
    pub pending: bool,
    /// Pact V4 `comments`, kept for round trips.
    pub comments: Option<Value>,
    /// Pact V4 `pluginConfiguration` / `interactionMarkup` and other keys parley does not
    /// interpret, kept for round trips.
    pub extra: serde_json::Map<String, Value>,
    /// Where the interaction was written, when loaded from a file parley can point into.
    pub location: Option<Location>,
}

/// A provider state with its parameters (`given`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ProviderState {
    pub name: String,
    pub params: serde_json::Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct HttpInteraction {
    pub common: InteractionCommon,
    pub request: HttpRequest,
    pub response: HttpResponse,
}

/// Header names keep the case they were written in; lookups ignore case.
pub type Headers = BTreeMap<String, Vec<String>>;

/// Query parameters in the order each name's values were given.
pub type Query = BTreeMap<String, Vec<String>>;

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// `None`: the contract says nothing about the query.
    pub query: Option<Query>,
    /// `None`: the contract says nothing about headers.
    pub headers: Option<Headers>,
    pub body: Body,
    pub rules: MatchingRules,
    pub generators: Generators,
}

impl Default for HttpRequest {
    fn default() -> Self {
        HttpRequest {
            method: "GET".into(),
            path: "/".into(),
            query: None,
            headers: None,
            body: Body::Missing,
            rules: MatchingRules::default(),
            generators: Generators::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Option<Headers>,
    pub body: Body,
    pub rules: MatchingRules,
    pub generators: Generators,
}

impl Default for HttpResponse {
    fn default() -> Self {
        HttpResponse {
            status: 200,
            headers: None,
            body: Body::Missing,
            rules: MatchingRules::default(),
            generators: Generators::default(),
        }
    }
}

/// A body as a contract states it (Pact's "optional body").
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Body {
    /// Not stated: anything goes.
    #[default]
    Missing,
    /// Stated as JSON `null`.
    Null,
    /// Stated as empty.
    Empty,
    /// A JSON document (`application/json` and `+json` types, or no type and JSON content).
    Json {
        value: Value,
        content_type: Option<String>,
    },
    /// Text: plain, XML, form-urlencoded, … (`content_type` says which).
    Text {
        text: String,
        content_type: Option<String>,
    },
    /// Anything else, as bytes.
    Binary {
        bytes: Vec<u8>,
        content_type: Option<String>,
    },
}

impl Body {
    pub fn content_type(&self) -> Option<&str> {
        match self {
            Body::Json { content_type, .. }
            | Body::Text { content_type, .. }
            | Body::Binary { content_type, .. } => content_type.as_deref(),
            _ => None,
        }
    }

    pub fn is_present(&self) -> bool {
        matches!(
            self,
            Body::Json { .. } | Body::Text { .. } | Body::Binary { .. }
        )
    }
}

/// An asynchronous message: what the provider publishes and the consumer relies on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MessageInteraction {
    pub common: InteractionCommon,
    pub message: MessageContents,
    /// parley: the NATS subject it is published on (`metadata.subject` in Pact form).
    pub subject: Option<String>,
    /// parley: the JSON Schema every payload must satisfy.
    pub schema: Option<PayloadSchema>,
    /// parley: how the provider is made to emit it during verification.
    pub trigger: Option<Trigger>,
}

/// A synchronous message exchange (request, then one or more responses).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SyncMessageInteraction {
    pub common: InteractionCommon,
    pub request: MessageContents,
    pub responses: Vec<MessageContents>,
    pub subject: Option<String>,
}

/// A message's payload and metadata (NATS headers, Pact message metadata).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MessageContents {
    pub contents: Body,
    pub metadata: BTreeMap<String, Value>,
    /// Categories `body` (alias `content`) and `metadata`.
    pub rules: MatchingRules,
    pub generators: Generators,
}

/// A JSON Schema for an event payload, as referenced and as resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadSchema {
    /// As written (`schemas/order-created.json`), or `inline`.
    pub reference: String,
    /// The schema document.
    pub document: Value,
    /// Where the schema file is.
    pub file: Option<PathBuf>,
}

/// How a provider is made to emit an event during verification.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// An HTTP request to the provider.
    Http {
        method: String,
        path: String,
        body: Option<Value>,
    },
    /// A message published to NATS (the provider emits the event when it consumes this).
    Publish {
        subject: String,
        payload: Value,
        headers: BTreeMap<String, String>,
    },
}

/// Which part of an interaction a matching rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Method,
    Path,
    Query,
    Header,
    Body,
    Status,
    Metadata,
}

impl Category {
    /// Pact's name for the category.
    pub fn pact_name(self) -> &'static str {
        match self {
            Category::Method => "method",
            Category::Path => "path",
            Category::Query => "query",
            Category::Header => "header",
            Category::Body => "body",
            Category::Status => "status",
            Category::Metadata => "metadata",
        }
    }

    /// Parses Pact's category names (`content` is V4's alias of `body` in messages; `headers`
    /// appears in some writers).
    pub fn from_pact_name(name: &str) -> Option<Self> {
        Some(match name {
            "method" => Category::Method,
            "path" => Category::Path,
            "query" => Category::Query,
            "header" | "headers" => Category::Header,
            "body" | "content" => Category::Body,
            "status" => Category::Status,
            "metadata" => Category::Metadata,
            _ => return None,
        })
    }
}

/// Matching rules by category, then by path expression (`$.animals[*].name`, a header or query
/// parameter name, or `""` for the whole of a category without paths such as `path`/`status`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MatchingRules {
    pub categories: BTreeMap<Category, BTreeMap<String, RuleList>>,
}

impl MatchingRules {
    pub fn is_empty(&self) -> bool {
        self.categories.values().all(BTreeMap::is_empty)
    }

    pub fn category(&self, category: Category) -> Option<&BTreeMap<String, RuleList>> {
        self.categories.get(&category).filter(|c| !c.is_empty())
    }

    /// Adds `rule` at `path` of `category` (and-ed with what is there).
    pub fn add(&mut self, category: Category, path: impl Into<String>, rule: MatchingRule) {
        self.categories
            .entry(category)
            .or_default()
            .entry(path.into())
            .or_default()
            .rules
            .push(rule);
    }
}

/// The rules at one path, combined with `logic`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RuleList {
    pub rules: Vec<MatchingRule>,
    pub logic: RuleLogic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RuleLogic {
    #[default]
    And,
    Or,
}

/// Classes of HTTP status for the `statusCode` matcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Information,
    Success,
    Redirect,
    ClientError,
    ServerError,
    /// Anything below 400.
    NonError,
    /// 400 and above.
    Error,
    /// One of these codes.
    Codes(Vec<u16>),
}

/// One matching rule: Pact's set (V2–V4) and parley's additions.
#[derive(Clone, Debug, PartialEq)]
pub enum MatchingRule {
    Equality,
    Regex(String),
    /// Same type as the example (arrays: each element like the example's first).
    Type,
    MinType(usize),
    MaxType(usize),
    MinMaxType(usize, usize),
    Number,
    Integer,
    Decimal,
    Boolean,
    Null,
    /// The value, as a string, contains this.
    Include(String),
    /// A date/time/timestamp in this format (Java `DateTimeFormatter` pattern as Pact uses;
    /// empty: ISO 8601).
    Date(String),
    Time(String),
    Timestamp(String),
    ContentType(String),
    /// A map whose values all match the example's (keys free).
    Values,
    NotEmpty,
    Semver,
    StatusCode(StatusClass),
    /// An array containing, somewhere, an element matching each variant.
    ArrayContains(Vec<ArrayContainsVariant>),
    /// Every key of a map satisfies these rules.
    EachKey(Vec<MatchingRule>),
    /// Every value of a map (or element of an array) satisfies these rules.
    EachValue(Vec<MatchingRule>),
}

/// One element `arrayContains` looks for: the example at `index` with its own rules.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ArrayContainsVariant {
    pub index: usize,
    /// Rules relative to the element (`$` is the element).
    pub rules: BTreeMap<String, RuleList>,
    pub generators: BTreeMap<String, Value>,
}

/// Pact generators (values a provider or mock fills in), kept as written, by category.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Generators {
    pub categories: BTreeMap<String, Value>,
}

impl Generators {
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }
}
