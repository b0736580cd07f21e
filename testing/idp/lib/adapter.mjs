// In-memory storage adapter for oidc-provider.
//
// One store lives for the whole IdP process and outlives oidc-provider instances: rotating the
// signing keys builds a new Provider (see provider.mjs) and sessions, grants and tokens must survive
// that. oidc-provider's bundled memory adapter is an LRU capped at 1000 entries, which a long test
// could overflow; this one is a plain Map with lazy expiry.

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class Store {
  /** key "<Model>:<id>" -> { payload, expiresAt (ms) | Infinity } */
  entries = new Map();

  /** grantId -> Set of entry keys bound to that grant */
  grants = new Map();

  /** session uid -> session id; user code -> id */
  sessionUids = new Map();

  userCodes = new Map();

  /** "<Model>:<id>" -> when it was consumed, in ms (`consumed` itself is in whole seconds). */
  consumedAt = new Map();

  /** When the token `id` of `model` was consumed (ms since the epoch), if it was. */
  consumedAtMs(model, id) {
    return this.consumedAt.get(`${model}:${id}`);
  }

  get(key) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /** Returns an adapter factory suitable for the oidc-provider `adapter` option. */
  adapterFactory() {
    return (model) => new MemoryAdapter(model, this);
  }
}

class MemoryAdapter {
  constructor(model, store) {
    this.model = model;
    this.store = store;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    this.store.entries.set(key, { payload, expiresAt });

    if (this.model === 'Session' && payload.uid) this.store.sessionUids.set(payload.uid, id);
    if (payload.userCode) this.store.userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!this.store.grants.has(payload.grantId)) this.store.grants.set(payload.grantId, new Set());
      this.store.grants.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    return this.store.get(this.key(id));
  }

  async findByUid(uid) {
    const id = this.store.sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = this.store.userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  /** Marks a token as used; `consumed` holds the epoch second it happened (used for reuse grace). */
  async consume(id) {
    const payload = this.store.get(this.key(id));
    if (payload) {
      payload.consumed = nowSeconds();
      this.store.consumedAt.set(this.key(id), Date.now());
    }
  }

  async destroy(id) {
    this.store.entries.delete(this.key(id));
    this.store.consumedAt.delete(this.key(id));
  }

  /** Deletes every stored token of this model that belongs to the grant. */
  async revokeByGrantId(grantId) {
    const keys = this.store.grants.get(grantId);
    if (!keys) return;
    for (const key of [...keys]) {
      if (key.startsWith(`${this.model}:`)) {
        this.store.entries.delete(key);
        this.store.consumedAt.delete(key);
        keys.delete(key);
      }
    }
    if (keys.size === 0) this.store.grants.delete(grantId);
  }
}
