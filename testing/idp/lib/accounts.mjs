// Fixture accounts: claim mapping (Logto's scope → claims table) and role-based scope lookups.

import { errors } from 'oidc-provider';

import {
  ORGANIZATION_RESOURCE,
  ORGANIZATIONS_SCOPE,
  ORGANIZATION_ROLES_SCOPE,
  SESSIONS_SCOPE,
  userClaimValues,
} from './config.mjs';

// Logto's scope → claims table, @logto/core-kit (packages/toolkit/core-kit/src/openid.ts):
// `idTokenClaims` (the base claims of each scope) and `extendedIdTokenClaimsByScope` (the claims
// a tenant may put in ID tokens; userinfo always has them).
const ID_TOKEN_CLAIMS = {
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
    'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'username',
    'created_at',
  ],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  custom_data: [],
  identities: [],
  roles: [],
  [ORGANIZATIONS_SCOPE]: [],
  [ORGANIZATION_ROLES_SCOPE]: [],
  [SESSIONS_SCOPE]: [],
};
const EXTENDED_ID_TOKEN_CLAIMS_BY_SCOPE = {
  custom_data: ['custom_data'],
  identities: ['identities', 'sso_identities'],
  roles: ['roles'],
  [ORGANIZATIONS_SCOPE]: ['organizations', 'organization_data'],
  [ORGANIZATION_ROLES_SCOPE]: ['organization_roles'],
};
export const EXTENDED_ID_TOKEN_CLAIMS = Object.values(EXTENDED_ID_TOKEN_CLAIMS_BY_SCOPE).flat();

/** core-kit's `userClaims`: every claim of each scope. Logto's oidc-provider `claims` option
 *  (oidc-provider adds `openid: ['sub']` and its `sid`, `auth_time`, `iss`). */
export const SCOPE_CLAIMS = Object.fromEntries(Object.entries(ID_TOKEN_CLAIMS)
  .map(([scope, claims]) => [scope, [...claims, ...(EXTENDED_ID_TOKEN_CLAIMS_BY_SCOPE[scope] ?? [])]]));

// The standard claims Logto reads from the user's `profile` column: `undefined` (left out of the
// token / userinfo) when unset, not `null` (scope.ts, `claimToUserProfileKey`).
const PROFILE_CLAIMS = new Set([
  'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'address',
]);

/** scope.ts `getAcceptedUserClaims`: the claims of `scope` for `use`, minus `rejected`. */
export function acceptedClaims(use, scope, rejected, enabledExtendedClaims) {
  return String(scope).split(' ').flatMap((name) => {
    if (!Object.hasOwn(ID_TOKEN_CLAIMS, name)) return [];
    if (use === 'userinfo') return SCOPE_CLAIMS[name];
    const extended = (EXTENDED_ID_TOKEN_CLAIMS_BY_SCOPE[name] ?? [])
      .filter((claim) => enabledExtendedClaims.includes(claim));
    return [...ID_TOKEN_CLAIMS[name], ...extended];
  }).filter((claim) => !rejected.includes(claim));
}

/** scope.ts `getUserClaimsData` for one claim of a fixture user. */
function claimValue(user, values, claim) {
  const orgs = user.organizations;
  switch (claim) {
    case 'email_verified': return Boolean(values.email);
    case 'phone_number_verified': return Boolean(values.phone_number);
    case 'roles': return values.roles ?? [];
    case 'organizations': return orgs.map((org) => org.id);
    case 'organization_roles':
      return orgs.flatMap((org) => (org.roles ?? []).map((role) => `${org.id}:${role}`));
    case 'organization_data':
      // pick(organization, 'id', 'name', 'description'): description is null when unset.
      return orgs.map((org) => ({ id: org.id, name: org.name ?? org.id, description: org.description ?? null }));
    case 'sso_identities':
      return (values.sso_identities ?? []).map(({ issuer, identityId, detail }) => ({ issuer, identityId, detail }));
    // The users table's jsonb columns default to '{}'.
    case 'custom_data': return values.custom_data ?? {};
    case 'identities': return values.identities ?? {};
    default:
      // Profile claims: undefined when unset; user columns (name, avatar, username,
      // primary_email, primary_phone): null when unset.
      return PROFILE_CLAIMS.has(claim) ? values[claim] : (values[claim] ?? null);
  }
}

/** The claims Logto's findAccount returns (init.ts): `sub` and the accepted claims' values. */
export function claimsOf(user, use, scope, rejected, enabledExtendedClaims) {
  const values = userClaimValues(user);
  return {
    sub: user.id,
    ...Object.fromEntries(acceptedClaims(use, scope, rejected, enabledExtendedClaims)
      .map((claim) => [claim, claimValue(user, values, claim)])),
  };
}

export class Accounts {
  constructor(users, enabledExtendedClaims) {
    this.users = users;
    this.enabledExtendedClaims = enabledExtendedClaims;
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

  /** oidc-provider's `findAccount` hook, as Logto's (init.ts). */
  findAccount = async (_ctx, sub) => {
    const user = this.byId(sub);
    if (!user) throw new errors.InvalidGrant('user not found');
    return {
      accountId: user.id,
      claims: async (use, scope, _claims, rejected = []) => claimsOf(user, use, scope, rejected, this.enabledExtendedClaims),
    };
  };
}
