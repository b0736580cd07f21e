#!/usr/bin/env node
// Runs the real Logto for tests and the sample app: its own PostgreSQL cluster and Redis, a freshly
// seeded database, an M2M app for the Management API, and Logto's server, all on free ports.
//
//   node testing/logto/server.mjs [--state DIR] [--no-stdin-exit]
//
// Builds Logto first when needed (testing/logto/build.sh; minutes on the first run). Prints one JSON
// line on stdout when Logto answers:
//   {"ready":true,"endpoint":"http://127.0.0.1:PORT","admin_endpoint":…,"m2m_app_id":…,
//    "m2m_app_secret":…,"management_resource":"https://default.logto.app/api","instance":"DIR/instance.json"}
// and writes the same object to DIR/instance.json (tests find it through LOGTO_TEST_INSTANCE).
// Progress and the servers' logs go to DIR/*.log and, summarised, to stderr.
//
// Everything stops when stdin closes (unless --no-stdin-exit), or on SIGINT/SIGTERM: Logto, Redis
// and PostgreSQL are stopped and DIR is removed (when it was created here).
//
// Redis is there because Logto reloads a tenant (e.g. after a signing-key rotation) only through its
// Redis-backed tenant cache; without it the new key would need a restart.

import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

const ownState = !option('--state');
const state = option('--state') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'logto-rs-logto-'));
fs.mkdirSync(state, { recursive: true });
const say = (message) => process.stderr.write(`[logto] ${message}\n`);
const children = [];
const cleanups = [];
let stopping = false;

const isRoot = process.getuid?.() === 0;

async function main() {
  const build = buildLogto();
  const postgresBin = ensurePostgres();
  ensureCommand('redis-server', 'redis-server');

  const [pgPort, redisPort, port, adminPort] = await freePorts(4);
  const redis = startRedis(redisPort);
  const databaseUrl = await startPostgres(postgresBin, pgPort);

  const env = {
    ...process.env,
    PATH: `${path.join(build, 'node-bin')}:${process.env.PATH}`,
    DB_URL: databaseUrl,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    NODE_ENV: 'production',
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ENDPOINT: `http://127.0.0.1:${port}`,
    ADMIN_ENDPOINT: `http://127.0.0.1:${adminPort}`,
    // Logto asks before seeding and before altering a database; the answers are always yes here.
    CI: 'true',
    // Logto's default (5 s) to get a database connection is too short on a loaded 2-core machine
    // running many tests: Logto then dies at start with "timeout expired".
    DATABASE_CONNECTION_TIMEOUT: '60000',
  };
  const logto = path.join(build, 'logto');
  say('seeding the database');
  // One seed at a time per build: the CLI copies its alteration scripts into the build's tree.
  run('flock', [path.join(build, 'seed.lock'), path.join(build, 'node-bin', 'node'), 'packages/cli/bin/logto.js', 'db', 'seed'], {
    cwd: logto,
    env,
    log: 'seed.log',
  });
  const m2m = createManagementApp(postgresBin, pgPort);

  say(`starting Logto on ${env.ENDPOINT}`);
  const core = spawnLogged(path.join(build, 'node-bin', 'node'), ['.'], {
    cwd: path.join(logto, 'packages', 'core'),
    env,
    log: 'logto.log',
  });
  await waitFor(`${env.ENDPOINT}/oidc/.well-known/openid-configuration`, core, 'logto.log', 120);

  const ready = {
    ready: true,
    endpoint: env.ENDPOINT,
    admin_endpoint: env.ADMIN_ENDPOINT,
    m2m_app_id: m2m.id,
    m2m_app_secret: m2m.secret,
    management_resource: 'https://default.logto.app/api',
    redis_url: env.REDIS_URL,
    database_url: databaseUrl,
    psql: path.join(postgresBin, 'psql'),
    instance: path.join(state, 'instance.json'),
    pid: process.pid,
  };
  fs.writeFileSync(ready.instance, JSON.stringify(ready, null, 2));
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  void redis;
}

function buildLogto() {
  const result = spawnSync('bash', [path.join(here, 'build.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    fail('building Logto failed (see above)');
  }
  return result.stdout.trim().split('\n').pop();
}

function ensureCommand(command, debianPackage) {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) {
    return;
  }
  aptInstall(debianPackage);
}

function aptInstall(...packages) {
  say(`installing ${packages.join(' ')} (Debian packages)`);
  const sudo = isRoot ? [] : ['sudo'];
  const opts = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  execFileSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(isRoot ? [] : ['apt-get']), 'update', '-qq'], opts);
  execFileSync(sudo[0] ?? 'apt-get', [
    ...(isRoot ? [] : ['apt-get']),
    'install', '-y', '-qq', '--no-install-recommends', ...packages,
  ], opts);
}

/** The directory of PostgreSQL's server programs (initdb, postgres), installing it when missing. */
function ensurePostgres() {
  const find = () => {
    const root = '/usr/lib/postgresql';
    if (!fs.existsSync(root)) return undefined;
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    return versions.length ? path.join(root, versions[0], 'bin') : undefined;
  };
  let bin = find();
  if (!bin) {
    aptInstall('postgresql');
    bin = find();
  }
  if (!bin) fail('PostgreSQL was installed but no initdb was found under /usr/lib/postgresql');
  return bin;
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user. */
function asPostgres(command, commandArgs, options = {}) {
  if (!isRoot) return [command, commandArgs, options];
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return [command, commandArgs, { ...options, uid: id('-u'), gid: id('-g') }];
}

async function startPostgres(bin, port) {
  // A directory of its own, which the `postgres` user can reach when we are root (the state
  // directory may sit in a directory only root can enter).
  const cluster = fs.mkdtempSync(path.join(os.tmpdir(), 'logto-rs-pg-'));
  cleanups.push(() => fs.rmSync(cluster, { recursive: true, force: true }));
  const data = path.join(cluster, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (isRoot) {
    fs.chmodSync(cluster, 0o755);
    execFileSync('chown', ['-R', 'postgres:postgres', cluster]);
  }
  say(`starting PostgreSQL on 127.0.0.1:${port}`);
  run(...asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], { log: 'initdb.log' }));
  const [command, commandArgs, postgresOptions] = asPostgres(path.join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${data}`,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
  ]);
  const postgres = spawnLogged(command, commandArgs, { ...postgresOptions, log: 'postgres.log', stopSignal: 'SIGINT' });
  for (let i = 0; i < 300; i++) {
    if (spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status === 0) {
      return `postgres://postgres@127.0.0.1:${port}/logto`;
    }
    if (postgres.exitCode !== null) break;
    await delay(100);
  }
  fail(`PostgreSQL did not start; its log:\n${readLog('postgres.log')}`);
}

function startRedis(port) {
  return spawnLogged('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    log: 'redis.log',
  });
}

/** An M2M app with the seeded "Logto Management API access" role (the seed creates no such app). */
function createManagementApp(bin, port) {
  const id = `m2m-${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  const sql = `
    insert into applications (tenant_id, id, name, secret, description, type, oidc_client_metadata)
      values ('default', '${id}', 'logto-rs tests', '${secret}', 'Management API access for tests',
              'MachineToMachine', '{"redirectUris": [], "postLogoutRedirectUris": []}');
    insert into applications_roles (tenant_id, id, application_id, role_id)
      select 'default', '${id}-role', '${id}', id from roles
      where tenant_id = 'default' and name = 'Logto Management API access';
    -- Logto checks new passwords against api.pwnedpasswords.com by default; this machine has no
    -- network beyond the package registries, so a registration would fail with a 500.
    update sign_in_experiences
      set password_policy = jsonb_set(password_policy, '{rejects}',
        coalesce(password_policy->'rejects', '{}'::jsonb) || '{"pwned": false}'::jsonb)
      where tenant_id = 'default';
  `;
  run(path.join(bin, 'psql'), ['-v', 'ON_ERROR_STOP=1', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'logto', '-c', sql], { log: 'psql.log' });
  return { id, secret };
}

function openLog(name) {
  return fs.openSync(path.join(state, name), 'a');
}

function readLog(name) {
  try {
    return fs.readFileSync(path.join(state, name), 'utf8').slice(-8000);
  } catch {
    return '(no log)';
  }
}

function run(command, commandArgs, { log, ...options } = {}) {
  const fd = openLog(log);
  const result = spawnSync(command, commandArgs, { ...options, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  if (result.status !== 0) {
    fail(`\`${command} ${commandArgs.join(' ')}\` failed (${result.error ?? `exit ${result.status}`}); its log:\n${readLog(log)}`);
  }
}

function spawnLogged(command, commandArgs, { log, stopSignal = 'SIGTERM', ...options }) {
  const fd = openLog(log);
  const child = spawn(command, commandArgs, { ...options, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  child.stopSignal = stopSignal;
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${path.basename(command)} exited (${signal ?? code}); its log:\n${readLog(log)}`);
      shutdown(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url, child, log, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await delay(200);
  }
  fail(`Logto did not answer ${url} within ${seconds} s; its log:\n${readLog(log)}`);
}

async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fail(message) {
  say(message);
  shutdown(1);
  throw new Error(message);
}

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        // SIGINT is PostgreSQL's fast shutdown.
        child.kill(child.stopSignal);
      } catch {
        // already gone
      }
    }
  }
  const started = Date.now();
  const wait = () => {
    const alive = children.filter((child) => child.exitCode === null && child.signalCode === null);
    if (alive.length === 0 || Date.now() - started > 10_000) {
      for (const child of alive) child.kill('SIGKILL');
      for (const cleanup of cleanups) cleanup();
      if (ownState) fs.rmSync(state, { recursive: true, force: true });
      process.exit(code);
    }
    setTimeout(wait, 50);
  };
  wait();
}

process.on('SIGINT', () => shutdown(130));
process.on('SIGTERM', () => shutdown(143));
// Never outlive the process that started us (a test killed before it could close our stdin).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown(0);
}, 1000).unref();
if (!flag('--no-stdin-exit')) {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

main().catch((error) => {
  if (!stopping) {
    say(error.stack ?? String(error));
    shutdown(1);
  }
});
