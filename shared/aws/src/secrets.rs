//! Secrets at cold start, from AWS Systems Manager Parameter Store: a function is told the
//! *name* of a SecureString parameter (`STRIPE_SECRET_KEY_PARAMETER`), reads and decrypts it
//! once at init, and keeps it for the life of its execution environment; the template never
//! holds a secret and IAM allows reading only those names. Run outside AWS with no parameter
//! name set, the plain variable (`STRIPE_SECRET_KEY`) is used instead.

use aws_sdk_ssm::error::DisplayErrorContext;

use crate::lambda::ConfigError;

/// The variable naming the Stripe secret key's parameter, and the plain one used without it.
pub const STRIPE_KEY_PARAMETER: &str = "STRIPE_SECRET_KEY_PARAMETER";
pub const STRIPE_KEY: &str = "STRIPE_SECRET_KEY";

/// The secret named by the parameter in `$parameter_var`, or else the value of `$plain_var`.
pub async fn secret(
    sdk: &aws_config::SdkConfig,
    parameter_var: &'static str,
    plain_var: &'static str,
) -> Result<String, ConfigError> {
    match std::env::var(parameter_var) {
        Ok(name) if !name.is_empty() => parameter(sdk, &name).await,
        _ => std::env::var(plain_var)
            .ok()
            .filter(|value| !value.is_empty())
            .ok_or(ConfigError::Missing(parameter_var)),
    }
}

/// The decrypted value of the parameter `name`.
pub async fn parameter(sdk: &aws_config::SdkConfig, name: &str) -> Result<String, ConfigError> {
    let output = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ConfigError::Secret(format!("{name}: {}", DisplayErrorContext(e))))?;
    output
        .parameter
        .and_then(|parameter| parameter.value)
        .ok_or_else(|| ConfigError::Secret(format!("{name}: no value")))
}
