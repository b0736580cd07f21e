use std::fmt;

/// How the scopes of a [`ScopeRequirement`] must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeMatch {
    /// Every scope must be granted.
    #[default]
    All,
    /// At least one of the scopes must be granted.
    Any,
}

/// Scopes a request needs. Scopes are compared as whole words: `read` is
/// not satisfied by `read:all`.
///
/// An empty requirement is always satisfied.
///
/// ```
/// use logto_api_auth::ScopeRequirement;
/// let granted = ["shopping:read".to_owned(), "profile".to_owned()];
/// assert!(ScopeRequirement::all_of(["shopping:read"]).is_satisfied_by(&granted));
/// assert!(!ScopeRequirement::all_of(["shopping:read", "shopping:write"]).is_satisfied_by(&granted));
/// assert!(ScopeRequirement::any_of(["shopping:write", "profile"]).is_satisfied_by(&granted));
/// assert!(!ScopeRequirement::all_of(["shopping"]).is_satisfied_by(&granted));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeRequirement {
    matching: ScopeMatch,
    scopes: Vec<String>,
}

impl ScopeRequirement {
    /// No scope needed.
    #[must_use]
    pub fn none() -> ScopeRequirement {
        ScopeRequirement::default()
    }

    /// Every one of `scopes` is needed.
    pub fn all_of<I, S>(scopes: I) -> ScopeRequirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeRequirement {
            matching: ScopeMatch::All,
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// At least one of `scopes` is needed.
    pub fn any_of<I, S>(scopes: I) -> ScopeRequirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeRequirement {
            matching: ScopeMatch::Any,
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// The scopes named.
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// All or any.
    #[must_use]
    pub fn matching(&self) -> ScopeMatch {
        self.matching
    }

    /// True when nothing is required.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Checks `granted` (the token's scopes).
    #[must_use]
    pub fn is_satisfied_by<G: AsRef<str>>(&self, granted: &[G]) -> bool {
        satisfied(self.matching, &self.scopes, granted)
    }
}

pub(crate) fn satisfied<R: AsRef<str>, G: AsRef<str>>(
    matching: ScopeMatch,
    required: &[R],
    granted: &[G],
) -> bool {
    if required.is_empty() {
        return true;
    }
    let has = |r: &R| granted.iter().any(|g| g.as_ref() == r.as_ref());
    match matching {
        ScopeMatch::All => required.iter().all(has),
        ScopeMatch::Any => required.iter().any(has),
    }
}

impl fmt::Display for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.matching {
            ScopeMatch::All => "all of",
            ScopeMatch::Any => "any of",
        };
        write!(f, "{word} [{}]", self.scopes.join(", "))
    }
}

/// Scopes required by an extractor (`RequireAuth` of this crate's `axum` feature, or of
/// logto-actix), declared on a type.
///
/// ```
/// use logto_api_auth::{ScopeMatch, Scopes};
/// struct ShoppingRead;
/// impl Scopes for ShoppingRead {
///     const SCOPES: &'static [&'static str] = &["shopping:read"];
/// }
/// struct ReadOrAdmin;
/// impl Scopes for ReadOrAdmin {
///     const SCOPES: &'static [&'static str] = &["shopping:read", "admin"];
///     const MATCH: ScopeMatch = ScopeMatch::Any;
/// }
/// ```
pub trait Scopes: Send + Sync + 'static {
    /// The scopes.
    const SCOPES: &'static [&'static str];
    /// All of them (default) or any of them.
    const MATCH: ScopeMatch = ScopeMatch::All;

    /// As a runtime requirement.
    #[must_use]
    fn requirement() -> ScopeRequirement {
        match Self::MATCH {
            ScopeMatch::All => ScopeRequirement::all_of(Self::SCOPES.iter().copied()),
            ScopeMatch::Any => ScopeRequirement::any_of(Self::SCOPES.iter().copied()),
        }
    }
}

/// No scope required: any valid token.
#[derive(Debug, Clone, Copy)]
pub struct NoScopes;

impl Scopes for NoScopes {
    const SCOPES: &'static [&'static str] = &[];
}
