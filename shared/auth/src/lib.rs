//! Who may do what: the seed's roles and their permissions, the JWT claims the frontend sends,
//! and the token checks. Plain Rust: the API Gateway authorizer and the handlers call it.

pub mod permissions;
pub mod token;

pub use permissions::{Permission, Role};
pub use token::{AuthConfig, AuthError, Claims};
