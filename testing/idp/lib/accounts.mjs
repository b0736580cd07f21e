// Fixture accounts: claim mapping (Logto's scope → claims table) and role-based scope lookups.

import {
  ORGANIZATION_RESOURCE,
  ORGANIZATIONS_SCOPE,
  ORGANIZATION_ROLES_SCOPE,
  userClaimValues,
} from './config.mjs';

// Standard profile claims that Logto returns only when they have a value.
const OPTIONAL_PROFILE_CLAIMS = [
  'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'website', 'gender', 'birthdate', 'zoneinfo', 'locale',
];

/** Scope → claims, as documented by Logto. Drives oidc-provider's `claims` option. */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'username', 'picture', 'created_at', 'updated_at', ...OPTIONAL_PROFILE_CLAIMS],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  custom_data: ['custom_data'],
  identities: ['identities', 'sso_identities'],
  roles: ['roles'],
  [ORGANIZATIONS_SCOPE]: ['organizations', 'organization_data'],
  [ORGANIZATION_ROLES_SCOPE]: ['organization_roles'],
};

/** Claims Logto only returns from the userinfo endpoint ("needs userinfo"), never in ID tokens. */
export const USERINFO_ONLY_CLAIMS = new Set(['custom_data', 'identities', 'sso_identities', 'organization_data']);

/** All the claim values of `user` for `use` ("id_token" or "userinfo"); oidc-provider then keeps
 *  the ones the granted scopes map to. */
export function claimsOf(user, use) {
  const values = userClaimValues(user);
  const orgs = user.organizations;
  const claims = {
    sub: user.id,
    // Logto returns these as null when empty.
    name: values.name ?? null,
    username: values.username ?? null,
    picture: values.picture ?? null,
    created_at: values.created_at ?? null,
    updated_at: values.updated_at ?? null,
    email: values.email ?? null,
    email_verified: values.email_verified ?? false,
    phone_number: values.phone_number ?? null,
    phone_number_verified: values.phone_number_verified ?? false,
    roles: values.roles ?? [],
    organizations: orgs.map((org) => org.id),
    organization_roles: orgs.flatMap((org) => (org.roles ?? []).map((role) => `${org.id}:${role}`)),
    custom_data: values.custom_data ?? {},
    identities: values.identities ?? {},
    sso_identities: values.sso_identities ?? [],
    organization_data: orgs.map((org) => ({
      id: org.id,
      name: org.name ?? org.id,
      description: org.description ?? null,
    })),
  };
  if (values.address !== undefined) claims.address = values.address;
  for (const name of OPTIONAL_PROFILE_CLAIMS) {
    if (values[name] !== undefined && values[name] !== null) claims[name] = values[name];
  }
  if (use !== 'userinfo') {
    for (const name of USERINFO_ONLY_CLAIMS) delete claims[name];
  }
  return claims;
}

export class Accounts {
  constructor(users) {
    this.users = users;
  }

  byId(id) {
    return this.users.find((user) => user.id === id);
  }

  byUsername(username) {
    return this.users.find((user) => user.username === username);
  }

  /** Checks credentials; returns the user or undefined. */
  authenticate(username, password) {
    const user = this.byUsername(username);
    return user && user.password === password ? user : undefined;
  }

  /**
   * The scopes `user`'s roles give for API resource `indicator` (the caller intersects them with
   * the resource's own scopes). For Logto's organization resource these are the organization-role
   * scopes of all the user's organizations.
   */
  roleScopesFor(user, indicator) {
    if (indicator === ORGANIZATION_RESOURCE) {
      return new Set(user.organizations.flatMap((org) => org.scopes ?? []));
    }
    return new Set(user.api_scopes ?? []);
  }

  membership(user, organizationId) {
    return user.organizations.find((org) => org.id === organizationId);
  }

  /** oidc-provider's `findAccount` hook. */
  findAccount = async (_ctx, sub) => {
    const user = this.byId(sub);
    if (!user) return undefined;
    return {
      accountId: user.id,
      claims: async (use) => claimsOf(user, use),
    };
  };
}
