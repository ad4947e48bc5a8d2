//! The REST API as a black box: the service on a free port, driven with a real HTTP client.

mod auth;
mod events;
mod flows;
mod gateway;
mod inputs;
mod offline;
mod webhooks;
