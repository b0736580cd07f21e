// The refresh_token grant, Logto flavour: packages/core/src/oidc/grants/refresh-token.ts (itself
// a fork of oidc-provider's handler) and grants/utils.ts.
//
// What Logto adds on top of oidc-provider's handler:
//  - organization tokens (`organization_id` parameter, with or without `resource`), RFC 0001;
//  - a reuse grace period: a rotated-out refresh token is still accepted for
//    `refresh_token_reuse_grace_seconds` after its rotation (Logto: 3 s, in its database adapter,
//    queries/oidc-model-instance.ts); reused later, it is rejected with invalid_grant and the
//    whole grant is revoked (every stored token of it stops working).
// Where this handler differs from Logto's (see the README's "Where each shape comes from"):
//  - it rotates on every use, unless the client's `refresh_token_rotation` is "logto"
//    (refresh-rotation.mjs: Logto rotates public clients' tokens, and confidential clients' only
//    past 70 % of their lifetime);
//  - it validates the request (organization membership, resource) before rotating, so a refused
//    request leaves the refresh token usable (Logto checks the resource after rotating);
//  - organization token scopes follow `organization_token_scopes` ("requested" is Logto's rule).
// The error bodies are Logto's (oidc-provider's errors, the same descriptions).

import { errors } from 'oidc-provider';
// The ID token assembly (claims per granted scope) is internal to oidc-provider; the version is
// pinned in package.json, so reusing it is safe and keeps claims identical to the code grant's.
import { issueIdToken } from 'oidc-provider/lib/helpers/grant_common.js';

import { ORGANIZATIONS_SCOPE, organizationAudience } from './config.mjs';
import { rotatesRefreshToken } from './refresh-rotation.mjs';

const { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, InsufficientScope, AccessDenied } = errors;

const GTY = 'refresh_token';

/** Deletes every stored artifact of a grant, and the grant itself. */
async function revokeGrant(provider, grantId) {
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
}

function withStatus(error, status) {
  error.status = status;
  error.statusCode = status;
  return error;
}

export function refreshTokenGrant(idp) {
  return async function refreshTokenGrantHandler(ctx) {
    const { provider, client, params } = ctx.oidc;

    if (params.refresh_token === undefined) throw new InvalidRequest("missing required parameter 'refresh_token'");
    if (Array.isArray(params.resource)) {
      throw new InvalidTarget('only a single resource indicator value must be requested/resolved during Access Token Request');
    }

    const refreshToken = await provider.RefreshToken.find(params.refresh_token, { ignoreExpiration: true });
    if (!refreshToken) throw new InvalidGrant('refresh token not found');
    if (refreshToken.clientId !== client.clientId) throw new InvalidGrant('client mismatch');
    if (refreshToken.isExpired) throw new InvalidGrant('refresh token is expired');

    const grant = await provider.Grant.find(refreshToken.grantId, { ignoreExpiration: true });
    if (!grant) throw new InvalidGrant('grant not found');
    if (grant.isExpired) throw new InvalidGrant('grant is expired');
    if (grant.clientId !== client.clientId) throw new InvalidGrant('client mismatch');
    if (grant.accountId !== refreshToken.accountId) throw new InvalidGrant('accountId mismatch');

    const user = idp.accounts.byId(refreshToken.accountId);
    if (!user) throw new InvalidGrant('refresh token invalid (referenced account not found)');
    ctx.oidc.entity('RefreshToken', refreshToken);
    ctx.oidc.entity('Grant', grant);
    ctx.oidc.entity('Account', await idp.accounts.findAccount(ctx, user.id));

    // Reuse detection, with Logto's grace period.
    if (refreshToken.consumed) {
      const consumedAt = idp.store.consumedAtMs('RefreshToken', refreshToken.jti) ?? refreshToken.consumed * 1000;
      if (Date.now() - consumedAt > idp.config.refresh_token_reuse_grace_seconds * 1000) {
        await Promise.all([refreshToken.destroy(), revokeGrant(provider, refreshToken.grantId)]);
        throw new InvalidGrant('refresh token already used');
      }
    }

    const organizationId = params.organization_id || undefined;
    const requested = params.scope ? new Set(params.scope.split(' ').filter(Boolean)) : undefined;
    const logtoScoping = idp.config.organization_token_scopes === 'requested';
    let membership;

    // Validate everything before rotating, so a rejected request leaves the token usable.
    if (organizationId) {
      membership = idp.accounts.membership(user, organizationId);
      if (!membership) {
        // grants/utils.ts checkOrganizationAccess: a 403.
        throw withStatus(new AccessDenied('user is not a member of the organization'), 403);
      }
      if (!refreshToken.scopes.has(ORGANIZATIONS_SCOPE)) {
        // oidc-provider's InsufficientScope: a 403, with `scope` in the body.
        throw new InsufficientScope('refresh token missing required scope', ORGANIZATIONS_SCOPE);
      }
    }
    if (requested && (!organizationId || logtoScoping)) {
      const missing = [...requested].filter((scope) => !refreshToken.scopes.has(scope));
      if (missing.length) {
        throw new InvalidScope(`refresh token missing requested scope${missing.length > 1 ? 's' : ''}`, missing.join(' '));
      }
    }
    const resource = params.resource;
    let resourceServer;
    if (resource) {
      // oidc-provider's resolve_resource.js and Logto's getResourceServerInfo: no description of
      // their own ("resource indicator is missing, or unknown").
      if (!refreshToken.resourceIndicators.has(resource)) throw new InvalidTarget();
      const info = idp.resourceServerInfo(resource);
      if (!info) throw new InvalidTarget();
      resourceServer = new provider.ResourceServer(resource, info);
    }

    // Rotate. Within the grace period the old token keeps its original rotation time.
    // (Unless the client's `refresh_token_rotation` says otherwise: see refresh-rotation.mjs.)
    const rotate = rotatesRefreshToken(idp, client, refreshToken);
    if (rotate && !refreshToken.consumed) await refreshToken.consume();
    if (rotate) ctx.oidc.entity('RotatedRefreshToken', refreshToken);
    const rotated = !rotate ? refreshToken : new provider.RefreshToken({
      accountId: refreshToken.accountId,
      acr: refreshToken.acr,
      amr: refreshToken.amr,
      authTime: refreshToken.authTime,
      claims: refreshToken.claims,
      client,
      expiresWithSession: refreshToken.expiresWithSession,
      iiat: refreshToken.iiat,
      grantId: refreshToken.grantId,
      gty: refreshToken.gty?.endsWith(GTY) ? refreshToken.gty : `${refreshToken.gty} ${GTY}`,
      nonce: refreshToken.nonce,
      resource: refreshToken.resource,
      rotations: (refreshToken.rotations ?? 0) + 1,
      scope: refreshToken.scope,
      sessionUid: refreshToken.sessionUid,
      sid: refreshToken.sid,
    });
    ctx.oidc.entity('RefreshToken', rotated);
    const refreshTokenValue = rotate ? await rotated.save() : params.refresh_token;

    // The access token.
    const at = new provider.AccessToken({
      accountId: user.id,
      client,
      expiresWithSession: rotated.expiresWithSession,
      grantId: rotated.grantId,
      gty: rotated.gty,
      sessionUid: rotated.sessionUid,
      sid: rotated.sid,
    });
    // Scopes the client asks for: the `scope` parameter, else the refresh token's.
    const scope = requested ?? refreshToken.scopes;

    if (organizationId && !resource) {
      // Organization token (grants/utils.ts handleOrganizationToken): aud
      // urn:logto:organization:<id>, scopes from the organization roles, no extra claim.
      const audience = organizationAudience(organizationId);
      const roleScopes = membership.scopes ?? [];
      at.resourceServer = new provider.ResourceServer(audience, idp.jwtAccessTokenInfo(audience, roleScopes));
      const filter = logtoScoping ? scope : requested;
      at.scope = roleScopes.filter((s) => !filter || filter.has(s)).join(' ');
    } else if (resource && organizationId) {
      // extra-token-claims.ts getExtraTokenClaimsForOrganizationApiResource: `organization_id`.
      // Organization-level API resource: scopes from the organization roles for that resource.
      at.resourceServer = resourceServer;
      const orgScopes = new Set(membership.resource_scopes?.[resource] ?? []);
      const filter = logtoScoping ? scope : requested;
      at.scope = [...resourceServer.scopes]
        .filter((s) => orgScopes.has(s) && (!filter || filter.has(s)))
        .join(' ');
      idp.extraAccessTokenClaims.set(at, { organization_id: organizationId });
    } else if (resource) {
      // Resource token: what the grant holds for the resource (user-role filtered at consent).
      at.resourceServer = resourceServer;
      at.scope = grant.getResourceScopeFiltered(resource, [...scope].filter((s) => resourceServer.scopes.has(s)));
    } else {
      // Opaque token, only good for userinfo.
      at.claims = refreshToken.claims;
      at.scope = grant.getOIDCScopeFiltered(scope);
    }

    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();
    const idToken = await issueIdToken(provider, ctx, rotated, at, grant, scope);

    ctx.body = {
      access_token: accessToken,
      expires_in: at.expiration,
      ...(idToken ? { id_token: idToken } : {}),
      refresh_token: refreshTokenValue,
      scope: at.scope ?? '',
      token_type: at.tokenType,
    };
  };
}
