//! Positional JSON-RPC parameters with geth's error texts.

use super::error::invalid_params;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The positional parameters of one call.
#[derive(Debug, Default)]
pub struct Args(Vec<Value>);

impl Args {
    /// Reads the parameters: absent or `null` is none, an array is positional, anything else
    /// is refused.
    pub fn parse(params: &Params<'_>) -> Result<Self, ErrorObjectOwned> {
        let Some(raw) = params.as_str() else { return Ok(Self::default()) };
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(values)) => Ok(Self(values)),
            Ok(Value::Null) => Ok(Self::default()),
            Ok(_) => Err(invalid_params("non-array args")),
            Err(e) => Err(invalid_params(format!("invalid params: {e}"))),
        }
    }

    /// Refuses more than `max` parameters.
    pub fn at_most(&self, max: usize) -> Result<&Self, ErrorObjectOwned> {
        if self.0.len() > max {
            return Err(invalid_params(format!("too many arguments, want at most {max}")));
        }
        Ok(self)
    }

    /// Parameter `index`, which must be present and not null.
    pub fn required<T: DeserializeOwned>(&self, index: usize) -> Result<T, ErrorObjectOwned> {
        match self.0.get(index) {
            None | Some(Value::Null) => {
                Err(invalid_params(format!("missing value for required argument {index}")))
            }
            Some(value) => Self::decode(index, value),
        }
    }

    /// Parameter `index`, or `None` when absent or null.
    pub fn optional<T: DeserializeOwned>(
        &self,
        index: usize,
    ) -> Result<Option<T>, ErrorObjectOwned> {
        match self.0.get(index) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => Self::decode(index, value).map(Some),
        }
    }

    fn decode<T: DeserializeOwned>(index: usize, value: &Value) -> Result<T, ErrorObjectOwned> {
        T::deserialize(value).map_err(|e| invalid_params(format!("invalid argument {index}: {e}")))
    }
}
