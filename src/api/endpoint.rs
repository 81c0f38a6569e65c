//! One HTTP endpoint whose route is built from its OpenAPI operation: the path and method are
//! written once, in `#[utoipa::path]`, and the route answers exactly there. Registered through
//! `utoipa_actix_web`, an endpoint cannot exist without its description, and a method the
//! description does not name gets 405 with an `Allow` header (a resource's own default).

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Resource, Responder};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa_actix_web::OpenApiFactory;

/// The operation `P` (the `__path_<handler>` type `#[utoipa::path]` makes) served by `service`.
pub struct Endpoint<P, S> {
    operation: P,
    service: S,
}

/// The route of `operation`: `handler` at its path, for each of its methods.
pub fn endpoint<P, H, Args>(operation: P, handler: H) -> Endpoint<P, Resource>
where
    P: utoipa::Path,
    H: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    H::Output: Responder + 'static,
{
    let mut resource = web::resource(P::path());
    for method in P::methods() {
        resource = resource.route(web::method(actix_method(&method)).to(handler.clone()));
    }
    Endpoint {
        operation,
        service: resource,
    }
}

impl<P, S> Endpoint<P, S> {
    /// Changes the route while keeping its description, e.g. to wrap it in a middleware.
    pub fn map<T>(self, change: impl FnOnce(S) -> T) -> Endpoint<P, T> {
        Endpoint {
            operation: self.operation,
            service: change(self.service),
        }
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl<P, S: HttpServiceFactory> HttpServiceFactory for Endpoint<P, S> {
    fn register(self, config: &mut AppService) {
        self.service.register(config);
    }
}

impl<P: OpenApiFactory, S> OpenApiFactory for Endpoint<P, S> {
    fn paths(&self) -> Paths {
        self.operation.paths()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        self.operation.schemas(schemas);
    }
}
