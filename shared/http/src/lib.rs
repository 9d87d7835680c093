//! The HTTP edge shared by every API function. A request goes through [`edge::layer`] once:
//! request id, the route's declared access ([`routes::ROUTES`]) checked against the caller the
//! authorizer vouched for, and every error rendered in the seed's format. Handlers see a
//! [`caller::Caller`] and typed input, and return `Result<_, ApiError>`.

pub mod acting;
pub mod cache;
pub mod caller;
pub mod cursor;
pub mod edge;
pub mod error;
pub mod health;
pub mod input;
pub mod lambda;
pub mod maker_checker;
pub mod mount;
pub mod page_walk;
pub mod routes;
pub mod time_filter;
pub mod user_limits;

pub use acting::Acting;
pub use caller::Caller;
pub use error::ApiError;
