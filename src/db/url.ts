import { AgentryError } from '../errors.js';

function parse(connectionString: string): URL {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    // Never echo the input: it may carry a password.
    throw new AgentryError('usage', 'invalid database URL: expected postgres://user[:password]@host[:port]/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new AgentryError('usage', `invalid database URL: scheme must be postgres:// or postgresql://, not ${url.protocol}//`);
  }
  // The user, password and database are percent-decoded (here and by pg): a stray % would
  // surface later as a bare "URI malformed".
  for (const [part, value] of [['user name', url.username], ['password', url.password], ['database name', url.pathname]] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw new AgentryError('usage', `invalid database URL: the ${part} is not valid percent-encoding (write % as %25)`);
    }
  }
  return url;
}

/** Throws a usage error (without echoing secrets) when the string is not a postgres URL. */
export function assertDatabaseUrl(connectionString: string): string {
  parse(connectionString);
  return connectionString;
}

/** The same server and credentials, another database: postgres://u:p@h:5432/a -> .../b. */
export function withDatabase(connectionString: string, database: string): string {
  const url = parse(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The database a URL points at ('' when it names none, which libpq reads as the user name). */
export function databaseOf(connectionString: string): string {
  const url = parse(connectionString);
  return decodeURIComponent(url.pathname.replace(/^\//, ''));
}

/**
 * A URL safe to print: the password (in the userinfo or as a ?password=
 * parameter) is replaced by ***. Anything unparseable is hidden entirely,
 * because we cannot tell where a secret would be in it.
 */
export function redactUrl(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return '<unparseable database URL>';
  }
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (/^(password|sslpassword|passfile)$/i.test(key)) url.searchParams.set(key, '***');
  }
  return url.toString();
}

/** Replaces every occurrence of the URL's password in free text (error messages, logs). */
export function redactSecrets(text: string, connectionStrings: readonly string[]): string {
  let result = text;
  for (const cs of connectionStrings) {
    let url: URL;
    try {
      url = new URL(cs);
    } catch {
      continue;
    }
    const secrets = [url.password, safeDecode(url.password), url.searchParams.get('password') ?? ''];
    for (const secret of secrets) {
      if (secret && secret.length >= 3) result = result.split(secret).join('***');
    }
  }
  return result;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
