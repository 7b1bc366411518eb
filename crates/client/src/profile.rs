//! Connection profiles: where a cluster is and how to authenticate to it.

use rdkafka::ClientConfig;
use std::path::PathBuf;

/// How to reach one Kafka cluster (the embedded Oxbow one or an external one).
///
/// A plain value: building one does no I/O, and the same profile can make any number of clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionProfile {
    /// Comma-separated `host:port` list, Kafka's `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Kafka's `client.id`: shows up in broker logs and quotas; name the Oxbow part using it.
    pub client_id: String,
    /// Transport security and authentication.
    pub security: Security,
    /// Extra librdkafka properties applied last (they win), for settings this struct does not model.
    pub extra: Vec<(String, String)>,
}

/// Transport security and authentication, mirroring Kafka's `security.protocol` values.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Security {
    /// `PLAINTEXT`: no TLS, no authentication (the embedded cluster's default).
    #[default]
    Plaintext,
    /// `SSL`: TLS, optionally with a CA bundle to trust instead of the system's.
    Ssl { ca_location: Option<PathBuf> },
    /// `SASL_PLAINTEXT`: SASL authentication without TLS.
    SaslPlaintext { mechanism: SaslMechanism, username: String, password: String },
    /// `SASL_SSL`: SASL authentication over TLS (e.g. Confluent Cloud uses PLAIN over TLS).
    SaslSsl { mechanism: SaslMechanism, username: String, password: String, ca_location: Option<PathBuf> },
}

/// SASL mechanisms with a username and password (GSSAPI/Kerberos and OAUTHBEARER are not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    /// Kafka's name for the mechanism, as `sasl.mechanism` expects it.
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl ConnectionProfile {
    /// A plaintext profile for `bootstrap_servers`, e.g. the embedded cluster's `127.0.0.1:9092`.
    pub fn plaintext(bootstrap_servers: impl Into<String>, client_id: impl Into<String>) -> ConnectionProfile {
        ConnectionProfile {
            bootstrap_servers: bootstrap_servers.into(),
            client_id: client_id.into(),
            security: Security::Plaintext,
            extra: Vec::new(),
        }
    }

    /// The librdkafka configuration for this profile. Callers add role-specific settings
    /// (acks, linger, fetch sizes) on top before creating a client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config.set("client.id", &self.client_id);
        match &self.security {
            Security::Plaintext => {
                config.set("security.protocol", "plaintext");
            }
            Security::Ssl { ca_location } => {
                config.set("security.protocol", "ssl");
                set_ca(&mut config, ca_location);
            }
            Security::SaslPlaintext { mechanism, username, password } => {
                config.set("security.protocol", "sasl_plaintext");
                set_sasl(&mut config, *mechanism, username, password);
            }
            Security::SaslSsl { mechanism, username, password, ca_location } => {
                config.set("security.protocol", "sasl_ssl");
                set_sasl(&mut config, *mechanism, username, password);
                set_ca(&mut config, ca_location);
            }
        }
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}

fn set_ca(config: &mut ClientConfig, ca_location: &Option<PathBuf>) {
    if let Some(path) = ca_location {
        config.set("ssl.ca.location", path.to_string_lossy());
    }
}

fn set_sasl(config: &mut ClientConfig, mechanism: SaslMechanism, username: &str, password: &str) {
    config.set("sasl.mechanism", mechanism.as_kafka_str());
    config.set("sasl.username", username);
    config.set("sasl.password", password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_ssl_profile_sets_kafka_names() {
        let mut profile = ConnectionProfile::plaintext("broker:9093", "test");
        profile.security = Security::SaslSsl {
            mechanism: SaslMechanism::ScramSha512,
            username: "alice".into(),
            password: "secret".into(),
            ca_location: Some(PathBuf::from("ca.pem")),
        };
        profile.extra.push(("socket.keepalive.enable".into(), "true".into()));
        let config = profile.client_config();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("alice"));
        assert_eq!(config.get("ssl.ca.location"), Some("ca.pem"));
        assert_eq!(config.get("socket.keepalive.enable"), Some("true"));
        assert_eq!(config.get("bootstrap.servers"), Some("broker:9093"));
    }
}
