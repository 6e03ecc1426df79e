// A real OpenID Provider (panva/oidc-provider) on loopback for the web identity tests.
// Environment: PORT, MOUNT_PATH (e.g. /realms/test) with KEYCLOAK_ROUTES=1 for Keycloak's URL
// layout, ID_TOKEN_TTL (seconds), DEVICE_TTL (seconds), SLOW_DOWN=1 (the first device poll is
// answered slow_down). Each request is logged on stdout as "REQ METHOD PATH MILLISECONDS" (no
// query), so the tests count what reached the IdP, and when.
import http from 'node:http';
import Provider, { interactionPolicy } from 'oidc-provider';

// first-party test IdP: no consent screen, even for native (loopback) clients
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

const PORT = Number(process.env.PORT || 9090);
const MOUNT = process.env.MOUNT_PATH || '';
const ISSUER = `http://127.0.0.1:${PORT}${MOUNT}`;
const USERS = { alice: { password: 'alice-password', email: 'alice@example.org' } };

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'aws-runas-test',
    application_type: 'native',
    token_endpoint_auth_method: 'none',           // public client, PKCE
    // native clients: any port on the loopback address (RFC 8252 7.3)
    redirect_uris: ['http://127.0.0.1:8400/callback', 'http://localhost:8400/callback', 'app:/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  }],
  features: {
    devInteractions: { enabled: false },
    // Plain pages (the defaults load web fonts, which a machine without network waits for).
    deviceFlow: {
      enabled: true,
      async userCodeInputSource(ctx, form, out, err) {
        ctx.body = `<!DOCTYPE html><html><head><title>Enter the code</title></head><body>
${err ? '<p id="error">The code is not valid.</p>' : ''}${form}
<button type="submit" id="continue" form="op.deviceInputForm">Continue</button></body></html>`;
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = `<!DOCTYPE html><html><head><title>Confirm the device</title></head><body>
<p id="user-code">${esc(userCode)}</p>${form}
<button type="submit" id="confirm" form="op.deviceConfirmForm">Continue</button>
<button type="submit" id="abort" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button></body></html>`;
      },
      async successSource(ctx) {
        ctx.body = '<!DOCTYPE html><html><head><title>Sign-in Success</title></head><body><p id="success">Signed in.</p></body></html>';
      },
    },
  },
  pkce: { required: () => true },
  interactions: { policy, url: (ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  async findAccount(ctx, id) {
    if (!USERS[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, email: USERS[id].email, email_verified: true }; } };
  },
  // skip the consent prompt: every client here is first-party
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile offline_access');
    await grant.save();
    return grant;
  },
  // As many IdPs do for public clients: a refresh token with every code, offline_access or not.
  async issueRefreshToken(ctx, client) { return client.grantTypeAllowed('refresh_token'); },
  routes: process.env.KEYCLOAK_ROUTES ? { authorization: '/protocol/openid-connect/auth', token: '/protocol/openid-connect/token', jwks: '/protocol/openid-connect/certs', userinfo: '/protocol/openid-connect/userinfo', device_authorization: '/protocol/openid-connect/auth/device' } : undefined,
  ttl: {
    IdToken: Number(process.env.ID_TOKEN_TTL || 3600),
    AccessToken: 3600,
    DeviceCode: Number(process.env.DEVICE_TTL || 600),
  },
});

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginPage = (uid, error) => `<!DOCTYPE html><html><head><title>Sign in</title></head><body>
${error ? `<p id="error" class="error">${esc(error)}</p>` : ''}
<form id="kc-form-login" action="${MOUNT}/interaction/${esc(uid)}/login" method="post">
  <input type="text" id="username" name="username" autocomplete="username"/>
  <input type="password" id="password" name="password"/>
  <input type="hidden" name="uid" value="${esc(uid)}"/>
  <input type="submit" id="submit" value="Sign in"/>
</form></body></html>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

// SLOW_DOWN=1: the first poll of each device code is answered slow_down (RFC 8628 3.5).
const polled = new Set();
provider.use(async (ctx, next) => {
  if (process.env.SLOW_DOWN && ctx.method === 'POST' && ctx.path.endsWith('/token')) {
    const body = await readForm(ctx.req);
    ctx.req.body = body;                         // oidc-provider reads a pre-parsed body
    if (body.grant_type === 'urn:ietf:params:oauth:grant-type:device_code' && !polled.has(body.device_code)) {
      polled.add(body.device_code);
      ctx.status = 400; ctx.type = 'json';
      ctx.body = { error: 'slow_down', error_description: 'poll less often' };
      return undefined;
    }
  }
  return next();
});

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!m) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && !m[2]) {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid) + `<!-- prompt=${details.prompt.name} reasons=${details.prompt.reasons} -->`;
    return undefined;
  }
  if (ctx.method === 'POST' && m[2]) {
    const { username, password } = await readForm(ctx.req);
    if (!USERS[username] || USERS[username].password !== password) {
      ctx.status = 200; ctx.type = 'html';
      ctx.body = loginPage(details.uid, 'Invalid username or password.');
      return undefined;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return undefined;
  }
  return next();
});

const cb = provider.callback();
http.createServer((req, res) => {
  console.log(`REQ ${req.method} ${req.url.split('?')[0]} ${Date.now()}`);
  if (MOUNT) {
    if (!req.url.startsWith(MOUNT)) { res.statusCode = 404; return res.end(); }
    req.originalUrl = req.url;               // what express/koa-mount would do
    req.url = req.url.slice(MOUNT.length) || '/';
  }
  return cb(req, res);
}).listen(PORT, '127.0.0.1', () => console.log(`oidc-provider listening on ${ISSUER}`));
