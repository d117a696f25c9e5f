// The JSON API: every URL is relative to the page, so the dashboard works under any prefix (/fennel/, /).

/** Who is signed in (GET api/me); canAct is false for read-only users. */
export const session = { user: null, canAct: true };

export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

async function read(response, what) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (response.ok) return body;
  let reason = body && typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`.trim();
  if (response.status === 403 && !(body && body.error)) reason = 'read-only user: you may look but not act.';
  else if (response.status === 401) reason = 'not signed in (401); reload the page to sign in.';
  else if (response.status === 404 && body && body.error === 'Not found.') reason = 'this server has no such endpoint (404): it may be an older dashboard.';
  throw new ApiError(response.status, `${what}: ${reason}`);
}

export async function get(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, `GET ${path}: the dashboard did not answer (${e.message}).`);
  }
  return read(response, `GET ${path}`);
}

/** POSTs JSON with the anti-forgery token of GET api/csrf in the header it names. */
export async function post(path, body) {
  if (!session.canAct) throw new ApiError(403, `POST ${path}: read-only user: you may look but not act.`);
  const csrf = await get('api/csrf');
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', [csrf.header_name]: csrf.token },
      body: JSON.stringify(body ?? {}),
    });
  } catch (e) {
    throw new ApiError(0, `POST ${path}: the dashboard did not answer (${e.message}).`);
  }
  return read(response, `POST ${path}`);
}

export async function loadSession() {
  try {
    const me = await get('api/me');
    session.user = me.user ?? null;
    session.canAct = me.can_act !== false;
  } catch {
    session.canAct = true; // an older server without api/me: actions stay enabled, the server still decides
  }
  return session;
}

export const q = encodeURIComponent;
