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
    /// Put before the operation's path, in the route and in the description (see
    /// [`endpoint_under`]).
    prefix: &'static str,
}

/// The route of `operation`: `handler` at its path, for each of its methods.
pub fn endpoint<P, H, Args>(operation: P, handler: H) -> Endpoint<P, Resource>
where
    P: utoipa::Path,
    H: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    H::Output: Responder + 'static,
{
    endpoint_under("", operation, handler)
}

/// [`endpoint`] at `prefix` followed by the operation's path, described there with an
/// operation id of its own (the prefix's words, `_`, the operation's id), for an API served at
/// two places. A plain resource rather than a scope, so the app's routing table lists the whole
/// path.
pub fn endpoint_under<P, H, Args>(
    prefix: &'static str,
    operation: P,
    handler: H,
) -> Endpoint<P, Resource>
where
    P: utoipa::Path,
    H: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    H::Output: Responder + 'static,
{
    let mut resource = web::resource(format!("{prefix}{}", P::path()));
    for method in P::methods() {
        resource = resource.route(web::method(actix_method(&method)).to(handler.clone()));
    }
    Endpoint {
        operation,
        service: resource,
        prefix,
    }
}

impl<P: utoipa::Path> Endpoint<P, Resource> {
    /// Adds `handler` for the methods of `operation`, an operation on the same path: one
    /// resource answers every method of a path (a second resource there would never be reached).
    pub fn and<Q, H, Args>(self, operation: Q, handler: H) -> Endpoint<Both<P, Q>, Resource>
    where
        Q: utoipa::Path,
        H: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        H::Output: Responder + 'static,
    {
        assert_eq!(
            P::path(),
            Q::path(),
            "operations of one endpoint share a path"
        );
        let mut resource = self.service;
        for method in Q::methods() {
            resource = resource.route(web::method(actix_method(&method)).to(handler.clone()));
        }
        Endpoint {
            operation: Both(self.operation, operation),
            service: resource,
            prefix: self.prefix,
        }
    }
}

/// Two operations on one path, described together.
pub struct Both<P, Q>(P, Q);

impl<P: OpenApiFactory, Q: OpenApiFactory> OpenApiFactory for Both<P, Q> {
    fn paths(&self) -> Paths {
        let mut paths = self.0.paths();
        paths.merge(self.1.paths());
        paths
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        self.0.schemas(schemas);
        self.1.schemas(schemas);
    }
}

impl<P, S> Endpoint<P, S> {
    /// Changes the route while keeping its description, e.g. to wrap it in a middleware.
    pub fn map<T>(self, change: impl FnOnce(S) -> T) -> Endpoint<P, T> {
        Endpoint {
            operation: self.operation,
            service: change(self.service),
            prefix: self.prefix,
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
        under(self.prefix, self.operation.paths())
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        self.operation.schemas(schemas);
    }
}

/// `paths` moved under `prefix`, their operation ids made distinct from those at the root.
fn under(prefix: &'static str, paths: Paths) -> Paths {
    if prefix.is_empty() {
        return paths;
    }
    let words = prefix.trim_matches('/').replace('/', "_");
    let mut moved = Paths::new();
    for (path, mut item) in paths.paths {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(id) = &operation.operation_id {
                operation.operation_id = Some(format!("{words}_{id}"));
            }
        }
        moved.paths.insert(format!("{prefix}{path}"), item);
    }
    moved.extensions = paths.extensions;
    moved
}
