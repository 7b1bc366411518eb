//! Connection profiles: the built-in one the studio starts with, plus the user's own, stored in a
//! JSON file (mode 0600: it may hold passwords). The API never returns a secret.

use crate::error::{Error, Result};
use crate::model::{ProfileInput, ProfileView, SaslMechanismName, SecurityProtocol};
use oxbow_client::{ConnectionProfile, SaslMechanism, Security};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Profiles a file may hold; a bound so a hostile or broken file cannot grow the process.
pub const PROFILES_COUNT_MAX: usize = 256;
/// Largest profiles file read, in bytes.
pub const PROFILES_FILE_BYTES_MAX: u64 = 1024 * 1024;
/// `client.id` of every client the studio makes.
pub const STUDIO_CLIENT_ID: &str = "oxbow-studio";

/// One profile with its secrets, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProfile {
    pub name: String,
    pub bootstrap_servers: String,
    #[serde(default)]
    pub security_protocol: SecurityProtocol,
    #[serde(default)]
    pub sasl_mechanism: Option<SaslMechanismName>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub client_cert_file: Option<String>,
    #[serde(default)]
    pub client_key_file: Option<String>,
}

impl StoredProfile {
    pub fn plaintext(name: &str, bootstrap_servers: &str) -> StoredProfile {
        StoredProfile {
            name: name.into(),
            bootstrap_servers: bootstrap_servers.into(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            username: None,
            password: None,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
        }
    }

    /// The client crate's profile for this one.
    pub fn connection_profile(&self) -> ConnectionProfile {
        let mut profile = ConnectionProfile::plaintext(self.bootstrap_servers.clone(), STUDIO_CLIENT_ID);
        let mechanism = match self.sasl_mechanism.unwrap_or(SaslMechanismName::Plain) {
            SaslMechanismName::Plain => SaslMechanism::Plain,
            SaslMechanismName::ScramSha256 => SaslMechanism::ScramSha256,
            SaslMechanismName::ScramSha512 => SaslMechanism::ScramSha512,
        };
        let username = self.username.clone().unwrap_or_default();
        let password = self.password.clone().unwrap_or_default();
        let ca_location = self.ca_file.as_ref().map(PathBuf::from);
        profile.security = match self.security_protocol {
            SecurityProtocol::Plaintext => Security::Plaintext,
            SecurityProtocol::Ssl => Security::Ssl { ca_location },
            SecurityProtocol::SaslPlaintext => Security::SaslPlaintext { mechanism, username, password },
            SecurityProtocol::SaslSsl => Security::SaslSsl { mechanism, username, password, ca_location },
        };
        if matches!(self.security_protocol, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl) {
            if let Some(cert) = &self.client_cert_file {
                profile.extra.push(("ssl.certificate.location".into(), cert.clone()));
            }
            if let Some(key) = &self.client_key_file {
                profile.extra.push(("ssl.key.location".into(), key.clone()));
            }
        }
        profile
    }

    pub fn view(&self, active: bool, builtin: bool) -> ProfileView {
        ProfileView {
            name: self.name.clone(),
            bootstrap_servers: self.bootstrap_servers.clone(),
            security_protocol: self.security_protocol,
            sasl_mechanism: self.sasl_mechanism,
            username: self.username.clone(),
            has_password: self.password.as_deref().is_some_and(|p| !p.is_empty()),
            ca_file: self.ca_file.clone(),
            client_cert_file: self.client_cert_file.clone(),
            client_key_file: self.client_key_file.clone(),
            active,
            builtin,
        }
    }

    /// Checks an input and makes the stored form; `previous` supplies the password when the input
    /// leaves it out.
    pub fn from_input(input: ProfileInput, previous: Option<&StoredProfile>) -> Result<StoredProfile> {
        validate_profile_name(&input.name)?;
        let servers = input.bootstrap_servers.trim();
        if servers.is_empty() {
            return Err(Error::bad_input("bootstrap_servers", "must list at least one host:port"));
        }
        for server in servers.split(',') {
            let server = server.trim();
            let port_ok = server
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !port_ok {
                return Err(Error::bad_input("bootstrap_servers", format!("{server:?} is not host:port")));
            }
        }
        let sasl = matches!(input.security_protocol, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl);
        if sasl && input.sasl_mechanism.is_none() {
            return Err(Error::bad_input(
                "sasl_mechanism",
                "required for SASL_PLAINTEXT and SASL_SSL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)",
            ));
        }
        if sasl && input.username.as_deref().is_none_or(str::is_empty) {
            return Err(Error::bad_input("username", "required for SASL_PLAINTEXT and SASL_SSL"));
        }
        for (field, value) in [
            ("username", &input.username),
            ("password", &input.password),
            ("ca_file", &input.ca_file),
            ("client_cert_file", &input.client_cert_file),
            ("client_key_file", &input.client_key_file),
        ] {
            if value.as_deref().is_some_and(|v| v.contains('\0') || v.len() > 4096) {
                return Err(Error::bad_input(field, "must be at most 4096 characters without NUL"));
            }
        }
        let password = input.password.or_else(|| previous.and_then(|p| p.password.clone()));
        Ok(StoredProfile {
            name: input.name,
            bootstrap_servers: servers.to_string(),
            security_protocol: input.security_protocol,
            sasl_mechanism: input.sasl_mechanism,
            username: input.username.filter(|u| !u.is_empty()),
            password,
            ca_file: input.ca_file.filter(|v| !v.is_empty()),
            client_cert_file: input.client_cert_file.filter(|v| !v.is_empty()),
            client_key_file: input.client_key_file.filter(|v| !v.is_empty()),
        })
    }
}

pub fn validate_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input("name", "a profile name is 1–64 characters of letters, digits, space, '-', '_' or '.'"))
    }
}

/// The file's shape.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ProfilesFile {
    /// The profile chosen last. The studio itself always starts on its built-in profile; the
    /// desktop shell reads this to reopen the cluster the user had open ("last cluster").
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    profiles: Vec<StoredProfile>,
}

/// The built-in profile plus the stored ones, and which is active.
pub struct ProfileStore {
    path: Option<PathBuf>,
    builtin: StoredProfile,
    stored: Vec<StoredProfile>,
    active: String,
    /// The file's `active` as loaded: the profile chosen in the previous run.
    chosen_last_run: Option<String>,
}

impl ProfileStore {
    /// Loads `path` (absent file = no stored profiles). The built-in profile starts active: the
    /// studio was started for it.
    pub fn open(path: Option<PathBuf>, builtin: StoredProfile) -> Result<ProfileStore> {
        let file = match &path {
            Some(path) => read_file(path)?,
            None => ProfilesFile::default(),
        };
        let chosen_last_run = file.active;
        let stored = file.profiles;
        let stored: Vec<StoredProfile> =
            stored.into_iter().filter(|p| p.name != builtin.name).take(PROFILES_COUNT_MAX).collect();
        let active = builtin.name.clone();
        Ok(ProfileStore { path, builtin, stored, active, chosen_last_run })
    }

    /// The profile chosen in the previous run, if it still exists.
    pub fn chosen_last_run(&self) -> Option<&str> {
        self.chosen_last_run.as_deref().filter(|name| self.get(name).is_some())
    }

    pub fn active(&self) -> &StoredProfile {
        self.get(&self.active).unwrap_or(&self.builtin)
    }

    pub fn active_is_builtin(&self) -> bool {
        self.active == self.builtin.name
    }

    pub fn get(&self, name: &str) -> Option<&StoredProfile> {
        if name == self.builtin.name {
            Some(&self.builtin)
        } else {
            self.stored.iter().find(|p| p.name == name)
        }
    }

    pub fn list(&self) -> Vec<ProfileView> {
        let mut out = vec![self.builtin.view(self.active_is_builtin(), true)];
        out.extend(self.stored.iter().map(|p| p.view(p.name == self.active, false)));
        out
    }

    pub fn active_name(&self) -> &str {
        &self.active
    }

    /// Saves a profile (create or replace) and writes the file.
    pub fn save(&mut self, input: ProfileInput) -> Result<ProfileView> {
        if input.name == self.builtin.name {
            return Err(Error::Conflict(format!("profile {:?} is built in and cannot be replaced", input.name)));
        }
        let index = self.stored.iter().position(|p| p.name == input.name);
        let profile = StoredProfile::from_input(input, index.map(|i| &self.stored[i]))?;
        match index {
            Some(index) => self.stored[index] = profile.clone(),
            None => {
                if self.stored.len() >= PROFILES_COUNT_MAX {
                    return Err(Error::bad_input(
                        "name",
                        format!("at most {PROFILES_COUNT_MAX} profiles can be stored"),
                    ));
                }
                self.stored.push(profile.clone());
            }
        }
        self.write()?;
        Ok(profile.view(profile.name == self.active, false))
    }

    pub fn delete(&mut self, name: &str) -> Result<()> {
        if name == self.builtin.name {
            return Err(Error::Conflict(format!("profile {name:?} is built in and cannot be deleted")));
        }
        if name == self.active {
            return Err(Error::Conflict(format!("profile {name:?} is active; switch to another profile first")));
        }
        let before = self.stored.len();
        self.stored.retain(|p| p.name != name);
        if self.stored.len() == before {
            return Err(Error::NotFound(format!("no profile named {name:?}")));
        }
        self.write()
    }

    /// Makes `name` active (the caller rebuilds its clients).
    pub fn set_active(&mut self, name: &str) -> Result<StoredProfile> {
        let profile = self.get(name).cloned().ok_or_else(|| Error::NotFound(format!("no profile named {name:?}")))?;
        self.active = name.to_string();
        // Remembered so the desktop shell can reopen this cluster next time; a failed write
        // loses only that convenience, so the switch itself still succeeds.
        if let Err(error) = self.write() {
            tracing::warn!(%error, "could not remember the chosen profile");
        }
        Ok(profile)
    }

    fn write(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = ProfilesFile { active: Some(self.active.clone()), profiles: self.stored.clone() };
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| Error::Internal(format!("serialising profiles: {e}")))?;
        let io = |what: &str| {
            let what = format!("{what} {}", path.display());
            move |source| Error::Io { what, source }
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("creating the directory of"))?;
        }
        // Write a sibling file then rename, so a crash never leaves a half-written profiles file.
        let temp = path.with_extension("json.tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut out = options.open(&temp).map_err(io("writing"))?;
            out.write_all(text.as_bytes()).map_err(io("writing"))?;
            out.sync_all().map_err(io("syncing"))?;
        }
        std::fs::rename(&temp, path).map_err(io("replacing"))
    }
}

fn read_file(path: &Path) -> Result<ProfilesFile> {
    let io = |source| Error::Io { what: format!("reading profiles file {}", path.display()), source };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(ProfilesFile::default()),
        Err(error) => return Err(io(error)),
    };
    if metadata.len() > PROFILES_FILE_BYTES_MAX {
        return Err(Error::bad_input(
            "profiles_file",
            format!("{} is larger than {PROFILES_FILE_BYTES_MAX} bytes", path.display()),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::bad_input("profiles_file", format!("{} is not a valid profiles file: {e}", path.display())))
}

/// The default profiles file: the platform's per-user config directory + `oxbow/profiles.json`.
pub fn default_profiles_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("oxbow").join("profiles.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> ProfileInput {
        ProfileInput {
            name: name.into(),
            bootstrap_servers: "kafka1:9092, kafka2:9092".into(),
            security_protocol: SecurityProtocol::SaslSsl,
            sasl_mechanism: Some(SaslMechanismName::ScramSha512),
            username: Some("alice".into()),
            password: Some("s3cret".into()),
            ca_file: Some("ca.pem".into()),
            client_cert_file: None,
            client_key_file: None,
        }
    }

    #[test]
    fn profiles_persist_without_leaking_secrets_into_views() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        let mut store =
            ProfileStore::open(Some(path.clone()), StoredProfile::plaintext("embedded", "127.0.0.1:9092")).unwrap();
        let view = store.save(input("prod")).unwrap();
        assert!(view.has_password);
        let json = serde_json::to_string(&store.list()).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
        // Replacing without a password keeps the stored one.
        let mut again = input("prod");
        again.password = None;
        store.save(again).unwrap();
        let reopened = ProfileStore::open(Some(path), StoredProfile::plaintext("embedded", "127.0.0.1:9092")).unwrap();
        let prod = reopened.get("prod").unwrap();
        assert_eq!(prod.password.as_deref(), Some("s3cret"));
        let config = prod.connection_profile().client_config();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    }

    #[test]
    fn bad_profiles_name_the_field() {
        let mut bad = input("x");
        bad.bootstrap_servers = "nohost".into();
        assert!(StoredProfile::from_input(bad, None).unwrap_err().to_string().starts_with("bootstrap_servers:"));
        let mut bad = input("x");
        bad.sasl_mechanism = None;
        assert!(StoredProfile::from_input(bad, None).unwrap_err().to_string().starts_with("sasl_mechanism:"));
        assert!(StoredProfile::from_input(input("a/b"), None).unwrap_err().to_string().starts_with("name:"));
    }

    #[test]
    fn the_profile_chosen_last_is_remembered_across_runs_while_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        let builtin = || StoredProfile::plaintext("embedded", "127.0.0.1:9092");
        let mut store = ProfileStore::open(Some(path.clone()), builtin()).unwrap();
        assert_eq!(store.chosen_last_run(), None);
        store.save(input("prod")).unwrap();
        store.set_active("prod").unwrap();
        let mut next_run = ProfileStore::open(Some(path.clone()), builtin()).unwrap();
        // A new run starts on the built-in profile but knows what was open before.
        assert_eq!(next_run.active_name(), "embedded");
        assert_eq!(next_run.chosen_last_run(), Some("prod"));
        // A stored profile removed by hand from the file is not offered.
        let text = std::fs::read_to_string(&path).unwrap().replace("\"name\": \"prod\"", "\"name\": \"gone\"");
        std::fs::write(&path, text).unwrap();
        assert_eq!(ProfileStore::open(Some(path.clone()), builtin()).unwrap().chosen_last_run(), None);
        // Any write of this run records what is open now: the built-in profile.
        next_run.delete("prod").unwrap();
        let after_delete = ProfileStore::open(Some(path), builtin()).unwrap();
        assert_eq!(after_delete.chosen_last_run(), Some("embedded"));
    }
}
