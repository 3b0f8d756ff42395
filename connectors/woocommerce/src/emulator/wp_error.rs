//! WordPress REST error bodies: `{"code","message","data":{"status",...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// An error the emulator answers with, shaped as WordPress shapes it.
#[derive(Debug, Clone, PartialEq)]
pub struct WpError {
    /// HTTP status (also written into `data.status`).
    pub status: u16,
    /// WordPress error code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// Extra members of `data` (`params` for `rest_invalid_param`).
    pub extra: Map<String, Value>,
}

impl WpError {
    /// An error with no extra data.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        WpError {
            status,
            code: code.to_string(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// `rest_invalid_param` for one or more parameters, each with its reason, as
    /// `WP_REST_Request::has_valid_params` reports them.
    pub fn invalid_params(params: Vec<(String, String)>) -> Self {
        let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let mut e = WpError::new(
            400,
            "rest_invalid_param",
            format!("Invalid parameter(s): {}", names.join(", ")),
        );
        let map: Map<String, Value> = params
            .into_iter()
            .map(|(n, why)| (n, Value::String(why)))
            .collect();
        e.extra.insert("params".into(), Value::Object(map));
        e
    }

    /// One invalid parameter.
    pub fn invalid_param(name: &str, why: impl Into<String>) -> Self {
        WpError::invalid_params(vec![(name.to_string(), why.into())])
    }

    /// 404 `rest_no_route`.
    pub fn no_route() -> Self {
        WpError::new(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        )
    }

    /// `woocommerce_rest_shop_order_invalid_id` "Invalid ID." with the given status (404 on
    /// read/delete, 400 on update, as WooCommerce does).
    pub fn invalid_order_id(status: u16) -> Self {
        WpError::new(
            status,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid ID.",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut data = Map::new();
        data.insert("status".into(), json!(self.status));
        data.extend(self.extra.clone());
        json!({"code": self.code, "message": self.message, "data": data})
    }
}

impl IntoResponse for WpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}
