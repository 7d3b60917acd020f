//! Where the consent callback may send a browser: a URL under one of `ALLOWED_RETURN_URLS`,
//! matched at a boundary, with the callback's own parameters ours alone.

use url::Url;

/// The parameters the callback writes into `returnTo`: the app reads them, so they are ours
/// alone (a `returnTo` carrying one is refused, and the redirect replaces rather than repeats).
pub const CALLBACK_PARAMS: &[&str] = &["jobIds", "jobId", "error"];

/// Rejects allow-list entries that could never be safe redirect targets.
pub fn check_allow_list_entry(entry: &str) -> Result<(), &'static str> {
    let url = Url::parse(entry).map_err(|_| "is not a URL prefix like https://app.example.com")?;
    match url.scheme() {
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
            Err("uses a scheme that can never be a return URL")
        }
        "http" | "https" if url.host_str().is_none_or(str::is_empty) => Err("has no host"),
        _ => Ok(()),
    }
}

/// `candidate` if it is a URL under one of the allowed prefixes. A prefix only matches at a
/// boundary, so `https://app.example.com` does not admit `https://app.example.com.evil.com`
/// or `https://app.example.com@evil.com`.
pub fn allowed_return_url(candidate: &str, allowed: &[String]) -> Option<Url> {
    if candidate.len() > 2048 || candidate.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let url = Url::parse(candidate).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let normalised = url.as_str();
    allowed
        .iter()
        .any(|prefix| {
            // Compare like with like: the prefix as the URL parser writes it.
            let prefix = Url::parse(prefix)
                .map(|p| {
                    let s = p.to_string();
                    if prefix.ends_with('/') {
                        s
                    } else {
                        s.trim_end_matches('/').to_owned()
                    }
                })
                .unwrap_or_else(|_| prefix.clone());
            normalised
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| {
                    prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#'])
                })
        })
        .then_some(url)
}

/// Whether `url` already carries one of the callback's parameters.
pub fn carries_callback_params(url: &Url) -> bool {
    url.query_pairs()
        .any(|(k, _)| CALLBACK_PARAMS.contains(&k.as_ref()))
}

/// `to` with `params` as the only values of their names.
pub fn with_callback_params(mut to: Url, params: &[(&str, &str)]) -> Url {
    let kept: Vec<(String, String)> = to
        .query_pairs()
        .filter(|(k, _)| !CALLBACK_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    to.set_query(None);
    if !kept.is_empty() || !params.is_empty() {
        let mut q = to.query_pairs_mut();
        q.extend_pairs(kept);
        q.extend_pairs(params);
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec![
            "https://app.example.com".into(),
            "http://localhost:3000/done".into(),
            "myapp://".into(),
        ]
    }

    #[test]
    fn return_urls_match_allowed_prefixes_at_a_boundary_only() {
        for ok in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/banks?x=1",
            "https://APP.example.com/banks",
            "http://localhost:3000/done",
            "http://localhost:3000/done?tab=1",
            "myapp://callback",
        ] {
            assert!(allowed_return_url(ok, &allowed()).is_some(), "{ok}");
        }
        for bad in [
            "https://app.example.com.evil.com",
            "https://app.example.com@evil.com",
            "https://user:pw@app.example.com/",
            "https://app.example.com:8443/",
            "http://app.example.com/",
            "http://localhost:3000/donemore",
            "http://localhost:3000/",
            "javascript:alert(1)",
            "//app.example.com",
            "https://evil.com/https://app.example.com",
            "https://app.example.com\\@evil.com",
            "otherapp://callback",
        ] {
            assert!(allowed_return_url(bad, &allowed()).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_callbacks_parameters_replace_any_in_return_to() {
        let to = Url::parse("https://app.example.com/banks?tab=2&jobIds=evil&error=x#top").unwrap();
        assert!(carries_callback_params(&to));
        assert_eq!(
            with_callback_params(to, &[("jobIds", "j1,j2")]).as_str(),
            "https://app.example.com/banks?tab=2&jobIds=j1%2Cj2#top"
        );
        let plain = Url::parse("myapp://done").unwrap();
        assert!(!carries_callback_params(&plain));
        assert_eq!(
            with_callback_params(plain, &[("error", "no_connection")]).as_str(),
            "myapp://done?error=no_connection"
        );
    }

    #[test]
    fn dangerous_allow_list_entries_are_refused() {
        assert!(check_allow_list_entry("javascript:alert(1)").is_err());
        assert!(check_allow_list_entry("data:text/html,x").is_err());
        assert!(check_allow_list_entry("not a url").is_err());
        assert!(check_allow_list_entry("https://app.example.com").is_ok());
        assert!(check_allow_list_entry("myapp://").is_ok());
    }
}
