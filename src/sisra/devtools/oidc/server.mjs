// A real OpenID Connect provider (the `oidc-provider` package) on loopback, shaped like
// Pro Santé Connect: scopes "openid scope_all", acr "eidas1", the national id of the
// professional ("8" + RPPS) in `preferred_username` and in the userinfo claim `SubjectNameID`,
// with `SubjectRefPro` carrying the practice ("exercices").
//
// Configuration: one JSON document in the environment variable OIDC_TEST_CONFIG:
//   { "port": 0, "cookie_key": "...", "clients": [ { "client_id", "client_secret",
//     "redirect_uris", "userinfo_signed_response_alg"? } ],
//     "accounts": { "<national id>": { "given_name", "family_name" } } }
// Anyone typing a national id of the form 8 + 11 digits can log in (the login page stands
// for the e-CPS app): accounts only give names; unknown ids get placeholder names, so the
// platform's own directory check is what refuses an unknown professional.
//
// Clients are "native" so that any loopback port is accepted for their registered
// http://127.0.0.1/... redirect URIs (RFC 8252 section 7.3): the platform under test listens
// on a free port chosen per test. The listening address is printed as one JSON line
// {"issuer": "..."} on standard output once the server accepts connections.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { URLSearchParams } from 'node:url';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const accounts = config.accounts || {};
const NATIONAL_ID = /^8\d{11}$/;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-psc-1', use: 'sig', alg: 'RS256' };

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function claimsOf(nationalId) {
  const names = accounts[nationalId] || { given_name: 'Prénom', family_name: 'NOM' };
  return {
    sub: nationalId,
    preferred_username: nationalId,
    SubjectNameID: nationalId,
    given_name: names.given_name,
    family_name: names.family_name,
    SubjectRefPro: {
      codeCivilite: 'DR',
      exercices: [
        {
          codeProfession: '10',
          codeCategorieProfessionnelle: 'C',
          nomDExercice: names.family_name,
          prenomDExercice: names.given_name,
          activities: [],
        },
      ],
    },
    SubjectOrganization: 'Cabinet de test',
    SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
  };
}

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

const port = Number(config.port || 0);
const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((c) => ({
    application_type: 'native',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [config.cookie_key || randomBytes(16).toString('hex')] },
  scopes: ['openid', 'scope_all'],
  claims: {
    openid: ['sub'],
    scope_all: [
      'preferred_username', 'SubjectNameID', 'given_name', 'family_name',
      'SubjectRefPro', 'SubjectOrganization', 'SubjectRole',
    ],
  },
  acrValues: ['eidas1'],
  // the national id in the ID token too (preferred_username), and every claim in the userinfo
  conformIdTokenClaims: false,
  extraParams: [],
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
  },
  pkce: { required: () => true },
  findAccount: async (_ctx, id) => (NATIONAL_ID.test(id)
    ? { accountId: id, claims: async () => claimsOf(id) }
    : undefined),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AuthorizationCode: 60, AccessToken: 300, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur du fournisseur', `<p role="alert">${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
});

for (const event of ['server_error', 'authorization.error', 'grant.error']) {
  provider.on(event, (_ctx, err) => process.stderr.write(`${event}: ${err && err.stack}\n`));
}

async function readForm(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (prompt.name === 'consent') {
    // as Pro Santé Connect: no consent screen. A browser with an open session at the
    // provider comes back logged in without a word (single sign-on), unless the client
    // asked for prompt=login
    const grant = prompt.details.grantId
      ? await provider.Grant.find(prompt.details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page('Pro Santé Connect (test)', `
<p>Application : ${escapeHtml(params.client_id)}</p>
<form method="post" action="/interaction/${uid}">
  <label for="login">Identifiant national</label>
  <input id="login" name="login" autocomplete="off" autofocus>
  <button type="submit">Valider avec e-CPS</button>
</form>`));
    return;
  }
  const form = await readForm(req);
  const login = (form.get('login') || '').trim();
  if (!NATIONAL_ID.test(login)) {
    res.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page('Pro Santé Connect (test)', '<p role="alert">Identifiant national inconnu.</p>'));
    return;
  }
  const grant = new provider.Grant({ accountId: login, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope || 'openid'));
  const grantId = await grant.save();
  const result = {
    login: { accountId: login, acr: 'eidas1', amr: ['mfa'], remember: false },
    consent: { grantId },
  };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(String(err && err.message));
    });
    return;
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
// the Python side holds our standard input: when it goes away (even killed), so do we
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
