//! Chroma (the open-source vector database) as a [`CandidateSource`], over
//! its HTTP API (v2) and the platform's [`Http`]: `fetch` in the browser,
//! the native client in the CLI. Every request goes through a
//! [`LedgeredHttp`], so every byte sent is in the ledger.
//!
//! Addressed as `chroma+http://HOST:PORT/COLLECTION` (or `chroma+https`),
//! with `?tenant=…&database=…` when not the defaults. The records follow
//! [`crate::catalog::engine_record`]; the collection uses cosine distance.
//!
//! Reading an answer is bounded: the body by `max_response_bytes`, the
//! record count by the query's limit, every field by the record layout's
//! limits; anything else is [`Error::Engine`].

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use serde_json::{json, Map, Value};

use crate::agent::llm::{Ledger, LedgeredHttp};
use crate::catalog::engine_record::{encode_sequence, SEQUENCE_FIELD};
use crate::error::{Error, Result};
use crate::platform::{Candidate, CandidateQuery, CandidateSource, Clock, Http, HttpRequest, LocalBoxFuture, VectorSpace};

use super::chroma_wire::{collection_id_of, read_records};
pub use super::chroma_wire::{parse_answer, where_clause};

/// The default cap on one answer's body: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// The default time one request may take: 10 s.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// Where a Chroma collection is: the parsed `chroma+http://…` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChromaAddress {
    /// `http://HOST:PORT` (or https), no trailing slash.
    pub base: String,
    /// Tenant (default `default_tenant`).
    pub tenant: String,
    /// Database (default `default_database`).
    pub database: String,
    /// Collection name.
    pub collection: String,
}

impl ChromaAddress {
    /// Parses `chroma+http://HOST[:PORT]/COLLECTION[?tenant=T&database=D]`.
    /// Anything else is [`Error::InvalidInput`] naming what is wrong.
    pub fn parse(address: &str) -> Result<Self> {
        let bad = |why: &str| Err(Error::InvalidInput(format!("candidate engine address {address:?}: {why}; expected chroma+http://HOST:PORT/COLLECTION")));
        let Some(rest) = address.strip_prefix("chroma+") else { return bad("not a chroma+ address") };
        let (scheme, rest) = match rest.split_once("://") {
            Some((s @ ("http" | "https"), r)) => (s, r),
            _ => return bad("the scheme is not http or https"),
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let Some((host, collection)) = rest.split_once('/') else { return bad("no collection name") };
        let collection = collection.trim_end_matches('/');
        if host.is_empty() || host.contains(['@', ' ']) {
            return bad("no host, or a host with credentials");
        }
        let valid_name = |n: &str| {
            (3..=512).contains(&n.len())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                && n.ends_with(|c: char| c.is_ascii_alphanumeric())
        };
        if !valid_name(collection) {
            return bad("the collection name must be 3-512 of [a-zA-Z0-9._-], starting and ending with a letter or digit");
        }
        let mut tenant = "default_tenant".to_string();
        let mut database = "default_database".to_string();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tenant", v)) if valid_name(v) => tenant = v.to_string(),
                Some(("database", v)) if valid_name(v) => database = v.to_string(),
                _ => return bad("the only parameters are tenant= and database=, each a valid name"),
            }
        }
        Ok(Self {
            base: format!("{scheme}://{host}"),
            tenant,
            database,
            collection: collection.to_string(),
        })
    }

    fn collections(&self) -> String {
        format!("{}/api/v2/tenants/{}/databases/{}/collections", self.base, self.tenant, self.database)
    }
}

/// The two collections of a catalog in Chroma.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// The items' records (text embeddings, cosine).
    Items = 0,
    /// The sequence model's item space (`COLLECTION-seq`: output vector
    /// with the bias appended, inner product; the same metadata).
    Sequence = 1,
}

/// A Chroma collection as a candidate source (see the module docs).
pub struct ChromaSource {
    address: ChromaAddress,
    endpoint: String,
    http: LedgeredHttp,
    /// The ids of the items and the sequence collections, once looked up.
    collection_ids: RefCell<[Option<String>; 2]>,
    /// The cap on one answer's body.
    pub max_response_bytes: usize,
    /// The time one request may take.
    pub timeout_ms: u32,
}

impl ChromaSource {
    /// A source for the collection at `address` (see [`ChromaAddress::parse`]),
    /// over `http`; every request is written to `ledger` with `clock`'s times.
    pub fn new(address: &str, http: Rc<dyn Http>, clock: Rc<dyn Clock>, ledger: Ledger) -> Result<Self> {
        let address = ChromaAddress::parse(address)?;
        Ok(Self {
            endpoint: address.collections(),
            address,
            http: LedgeredHttp::new(http, clock, ledger),
            collection_ids: RefCell::new([None, None]),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        })
    }

    /// The ledger every request of this source goes to.
    pub fn ledger(&self) -> &Ledger {
        self.http.ledger()
    }

    /// The parsed address.
    pub fn address(&self) -> &ChromaAddress {
        &self.address
    }

    async fn call(&self, method: &str, url: String, body: Option<Value>) -> Result<Value> {
        let body = match body {
            Some(b) => serde_json::to_vec(&b).map_err(|e| Error::InvalidInput(e.to_string()))?,
            None => Vec::new(),
        };
        let mut headers = Vec::new();
        if !body.is_empty() {
            headers.push(("content-type".to_string(), "application/json".to_string()));
        }
        let mut response = self
            .http
            .send_streaming(HttpRequest {
                method: method.to_string(),
                url,
                headers,
                body,
                timeout_ms: self.timeout_ms,
            })
            .await?;
        // Read under the cap: a hostile engine costs at most the cap.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.body.next().await {
            let chunk = chunk?;
            if bytes.len().saturating_add(chunk.len()) > self.max_response_bytes {
                return Err(Error::ResponseTooLarge(format!(
                    "the engine's answer went past its cap of {} bytes; reading stopped",
                    self.max_response_bytes
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Engine(format!("HTTP {}: the answer is not JSON ({e})", response.status))
        })?;
        if !(200..300).contains(&response.status) {
            let message = value.get("message").and_then(Value::as_str).unwrap_or("");
            let message: String = message.chars().take(300).collect();
            return Err(Error::Engine(format!("HTTP {}: {message}", response.status)));
        }
        Ok(value)
    }

    /// The name of `which` collection: the address's, or that name with
    /// `-seq` for the sequence model's item space.
    pub fn collection_name(&self, which: Collection) -> String {
        match which {
            Collection::Items => self.address.collection.clone(),
            Collection::Sequence => format!("{}-seq", self.address.collection),
        }
    }

    /// The id of `which` collection (looked up once by name).
    pub async fn collection_id(&self, which: Collection) -> Result<String> {
        if let Some(id) = self.collection_ids.borrow()[which as usize].clone() {
            return Ok(id);
        }
        let url = format!("{}/{}", self.address.collections(), self.collection_name(which));
        let value = self.call("GET", url, None).await?;
        let id = collection_id_of(&value)?;
        self.collection_ids.borrow_mut()[which as usize] = Some(id.clone());
        Ok(id)
    }

    /// Creates `which` collection unless it exists (cosine distance for
    /// the items, inner product for the sequence space); returns its id.
    pub async fn ensure_collection(&self, which: Collection) -> Result<String> {
        let space = match which {
            Collection::Items => "cosine",
            Collection::Sequence => "ip",
        };
        let body = json!({
            "name": self.collection_name(which),
            "get_or_create": true,
            "configuration": {"hnsw": {"space": space}},
            "metadata": {"created_by": "recagent"},
        });
        let value = self.call("POST", self.address.collections(), Some(body)).await?;
        let id = collection_id_of(&value)?;
        self.collection_ids.borrow_mut()[which as usize] = Some(id.clone());
        Ok(id)
    }

    /// The items collection's metadata (an empty map when it has none).
    pub async fn metadata(&self) -> Result<Map<String, Value>> {
        let url = format!("{}/{}", self.address.collections(), self.address.collection);
        let value = self.call("GET", url, None).await?;
        let id = collection_id_of(&value)?;
        self.collection_ids.borrow_mut()[Collection::Items as usize] = Some(id);
        match value.get("metadata") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(Error::Engine("the collection's metadata is not an object".into())),
        }
    }

    /// Replaces the items collection's metadata.
    pub async fn set_metadata(&self, metadata: Map<String, Value>) -> Result<()> {
        let url = format!("{}/{}", self.address.collections(), self.collection_id(Collection::Items).await?);
        self.call("PUT", url, Some(json!({"new_metadata": metadata}))).await.map(|_| ())
    }

    /// The number of records in `which` collection.
    pub async fn count(&self, which: Collection) -> Result<u64> {
        let url = format!("{}/{}/count", self.address.collections(), self.collection_id(which).await?);
        self.call("GET", url, None)
            .await?
            .as_u64()
            .ok_or_else(|| Error::Engine("count: not a number".into()))
    }

    /// Which of `ids` `which` collection holds with metadata `field` equal
    /// to `value` (a build's fingerprint: what a resumed push may skip).
    pub async fn existing(&self, which: Collection, ids: &[String], field: &str, value: &str) -> Result<Vec<String>> {
        let url = format!("{}/{}/get", self.address.collections(), self.collection_id(which).await?);
        // The field is compared here, not by a `where`: Chroma answers a get by
        // ids with a `where` in about 55 s for 1,000 ids over 100,000 records,
        // and the same get returning metadata in about 0.07 s.
        let body = json!({"ids": ids, "include": ["metadatas"]});
        let answer = self.call("POST", url, Some(body)).await?;
        let found = answer.get("ids").and_then(Value::as_array).ok_or_else(|| Error::Engine("get: no ids".into()))?;
        let metadatas = answer.get("metadatas").and_then(Value::as_array).ok_or_else(|| Error::Engine("get: no metadatas".into()))?;
        if metadatas.len() != found.len() {
            return Err(Error::Engine(format!("get: {} ids but {} metadatas", found.len(), metadatas.len())));
        }
        Ok(found
            .iter()
            .zip(metadatas)
            .filter(|(_, m)| m.get(field).and_then(Value::as_str) == Some(value))
            .filter_map(|(id, _)| id.as_str().map(str::to_string))
            .collect())
    }

    /// Writes `records` into `which` collection (creating or replacing them by
    /// id); a record's [`Candidate::sequence`] goes into its metadata as
    /// `rc.seq` ([`crate::catalog::engine_record::encode_sequence`]), whence
    /// every answer brings it back.
    pub async fn upsert(&self, which: Collection, records: &[Candidate]) -> Result<()> {
        let url = format!("{}/{}/upsert", self.address.collections(), self.collection_id(which).await?);
        let body = json!({
            "ids": records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            "embeddings": records.iter().map(|r| r.vector.as_slice()).collect::<Vec<_>>(),
            "documents": records.iter().map(|r| r.document.as_deref()).collect::<Vec<_>>(),
            "metadatas": records.iter().map(|r| {
                let mut m = r.metadata.clone();
                if let Some(row) = &r.sequence {
                    m.insert(SEQUENCE_FIELD.into(), Value::from(encode_sequence(row)));
                }
                m
            }).collect::<Vec<_>>(),
        });
        self.call("POST", url, Some(body)).await.map(|_| ())
    }

    async fn run(&self, query: &CandidateQuery) -> Result<Vec<Candidate>> {
        let items = self.collection_id(Collection::Items).await?;
        let base = self.address.collections();
        let include = json!(["documents", "metadatas", "embeddings"]);
        let filter = where_clause(query.conditions());
        let with_filter = |mut body: Value| {
            if let (Some(w), Some(b)) = (filter.clone(), body.as_object_mut()) {
                b.insert("where".into(), w);
            }
            body
        };
        match (query.vector(), query.space()) {
            (Some(v), VectorSpace::Text) => {
                let body = with_filter(json!({"query_embeddings": [v], "n_results": query.limit(), "include": include}));
                let value = self.call("POST", format!("{base}/{items}/query"), Some(body)).await?;
                read_records(&value, true, query.limit())
            }
            (Some(v), VectorSpace::Sequence) => {
                // The nearest in the model's item space, then their records.
                let sequence = self.collection_id(Collection::Sequence).await?;
                // With their rows of the model (the `-seq` vectors), so the
                // device can score items its small bundle does not hold.
                let body = with_filter(json!({"query_embeddings": [v], "n_results": query.limit(), "include": ["embeddings"]}));
                let value = self.call("POST", format!("{base}/{sequence}/query"), Some(body)).await?;
                let rows = read_records(&value, true, query.limit())?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let mut rows: std::collections::HashMap<String, Vec<f32>> = rows.into_iter().map(|r| (r.id, r.vector)).collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let body = json!({"ids": ids, "include": include});
                let value = self.call("POST", format!("{base}/{items}/get"), Some(body)).await?;
                let mut records = read_records(&value, false, query.limit())?;
                let order: std::collections::HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
                records.sort_by_key(|r| order.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
                for r in &mut records {
                    // The record's own rows (with the input row) when it
                    // has them, else the sequence space's vector.
                    let found = rows.remove(&r.id);
                    r.sequence = r.sequence.take().or(found);
                }
                Ok(records)
            }
            (None, _) => {
                let body = with_filter(json!({"ids": query.ids(), "limit": query.limit(), "include": include}));
                let value = self.call("POST", format!("{base}/{items}/get"), Some(body)).await?;
                read_records(&value, false, query.limit())
            }
        }
    }
}

impl CandidateSource for ChromaSource {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn candidates<'a>(&'a self, query: &'a CandidateQuery) -> LocalBoxFuture<'a, Result<Vec<Candidate>>> {
        Box::pin(self.run(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FieldCondition;

    #[test]
    fn addresses_parse_or_say_what_is_wrong() {
        let a = ChromaAddress::parse("chroma+http://127.0.0.1:8000/movies").unwrap();
        assert_eq!((a.base.as_str(), a.collection.as_str(), a.tenant.as_str()), ("http://127.0.0.1:8000", "movies", "default_tenant"));
        let a = ChromaAddress::parse("chroma+https://h/movies-1m?tenant=t01&database=db1").unwrap();
        assert_eq!((a.base.as_str(), a.tenant.as_str(), a.database.as_str()), ("https://h", "t01", "db1"));
        for bad in [
            "http://h/movies",
            "chroma+ftp://h/movies",
            "chroma+http://h",
            "chroma+http://h/m",
            "chroma+http://u:p@h/movies",
            "chroma+http://h/movies?x=1",
            "chroma+http://h/mo vies",
        ] {
            let e = ChromaAddress::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{bad}");
        }
    }

    #[test]
    fn conditions_become_a_where_clause() {
        let c = |v: &str| FieldCondition::Contains { field: "rc.f.genre".into(), value: v.into() };
        assert_eq!(where_clause(&[]), None);
        assert_eq!(where_clause(&[c("drama")]).unwrap(), json!({"rc.f.genre": {"$contains": "drama"}}));
        let both = where_clause(&[c("drama"), FieldCondition::AtLeast { field: "year".into(), value: 1990.0 }]).unwrap();
        assert_eq!(both, json!({"$and": [{"rc.f.genre": {"$contains": "drama"}}, {"year": {"$gte": 1990.0}}]}));
        let any = where_clause(&[FieldCondition::ContainsAny { field: "g".into(), values: vec!["a".into(), "b".into()] }]).unwrap();
        assert_eq!(any, json!({"$or": [{"g": {"$contains": "a"}}, {"g": {"$contains": "b"}}]}));
    }

    #[test]
    fn garbage_answers_are_engine_errors_not_panics() {
        let cases = [
            json!({}),
            json!({"ids": [["a"]]}),
            json!({"ids": [["a"]], "embeddings": [[[1.0, "x"]]]}),
            json!({"ids": [["a", "b"]], "embeddings": [[[1.0]]]}),
            json!({"ids": [[1]], "embeddings": [[[1.0]]]}),
            json!({"ids": [["a"]], "embeddings": [[[1.0]]], "metadatas": [[[1]]]}),
            json!({"ids": [["a"]], "embeddings": [[[1.0]]], "documents": [[3]]}),
        ];
        for v in cases {
            let e = read_records(&v, true, 10).unwrap_err();
            assert_eq!(e.code(), "engine_error", "{v}");
        }
        let too_many = json!({"ids": [["a", "b"]], "embeddings": [[[1.0], [2.0]]]});
        assert_eq!(read_records(&too_many, true, 1).unwrap_err().code(), "engine_error");
        let ok = read_records(&json!({"ids": [["a"]], "embeddings": [[[0.5, 0.5]]], "documents": [["A"]], "metadatas": [[{"rc.title": "T"}]]}), true, 5).unwrap();
        assert_eq!(ok[0].vector, vec![0.5, 0.5]);
        assert_eq!(ok[0].document.as_deref(), Some("A"));
        assert!(ok[0].sequence.is_none());
    }

    #[test]
    fn a_records_model_rows_travel_exactly_in_its_metadata() {
        use crate::catalog::engine_record::{decode_sequence, encode_sequence, MAX_SEQUENCE_VALUES};
        let row = vec![0.1f32, -2.5e-8, 3.0, f32::MIN_POSITIVE, 7.25];
        let text = encode_sequence(&row);
        let answer = |seq: Value| json!({"ids": ["a"], "embeddings": [[1.0]], "metadatas": [{"rc.title": "T", "rc.seq": seq}]});
        let got = read_records(&answer(Value::from(text)), false, 5).unwrap();
        assert_eq!(got[0].sequence.as_deref(), Some(row.as_slice()), "bit for bit");
        assert!(!got[0].metadata.contains_key("rc.seq"), "the rows are not an attribute");
        assert!(read_records(&answer(Value::Null), false, 5).unwrap()[0].sequence.is_none());
        let nan = encode_sequence(&[1.0, f32::NAN]);
        let huge = encode_sequence(&vec![1.0; MAX_SEQUENCE_VALUES + 1]);
        for bad in [Value::from("not base64!"), Value::from("AAA="), Value::from(nan), Value::from(huge), json!(3), json!([1.0])] {
            let e = read_records(&answer(bad.clone()), false, 5).unwrap_err();
            assert_eq!(e.code(), "engine_error", "{bad}");
        }
        assert_eq!(decode_sequence(&encode_sequence(&vec![0.5; MAX_SEQUENCE_VALUES])).unwrap().len(), MAX_SEQUENCE_VALUES);
    }
}
