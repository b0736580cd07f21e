// Tiny node:http helpers for the routes that are not oidc-provider's.

const MAX_BODY = 1024 * 1024;

export async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON body; an empty body is `{}`. */
export async function readJson(req) {
  const text = await readBody(req);
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`invalid JSON body: ${error.message}`), { status: 400 });
  }
}

function send(res, status, type, body) {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

export const sendJson = (res, status, value) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
export const sendHtml = (res, status, html) => send(res, status, 'text/html; charset=utf-8', html);

export function sendNoContent(res) {
  res.statusCode = 204;
  res.end();
}
