//! The Piston v2 compatible API against the real Docker engine: Piston's real npm client
//! (`piston-client` 1.0.2, installed by `scripts/lib.sh` `ensure_piston_client`) driven by a
//! small Node.js script (`client_driver.mjs`) whose answers the tests assert on (`client`).

mod client;
