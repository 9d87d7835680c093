//! Who may do what: the seed's roles and their permissions, the JWT claims the frontend sends,
//! the token checks, and how many requests a user may make (per-user rate limits). Plain Rust:
//! the API Gateway authorizer, the edge and the handlers call it.

pub mod permissions;
pub mod rate_limit;
pub mod token;

pub use permissions::{Permission, Role};
pub use token::{AuthConfig, AuthError, Claims};
