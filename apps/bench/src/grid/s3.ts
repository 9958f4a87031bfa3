// The results location of a grid in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …): the ResultStore interface
// over the S3 REST API with Node's fetch, path-style URLs (ENDPOINT/bucket/key), requests signed with AWS Signature
// Version 4 (header form; "Authenticating Requests: Using the Authorization Header", AWS S3 API reference).
// Exactly-once: putIfAbsent is a PUT with `If-None-Match: *` (S3 conditional writes): the bucket refuses it with
// 412 when the key exists, atomically, so of several writers exactly one wins and nothing complete is overwritten.
import { createHash, createHmac } from 'node:crypto';
import { GridError } from './definition.js';
import { checkKey } from './key.js';
import type { ResultStore } from './store.js';

// ---- Signature Version 4 ---------------------------------------------------------------------------------------

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  /** The URL as sent: its path and query are signed in canonical form. */
  url: URL;
  /** Every header to sign (host is taken from the URL when absent); names in any case. */
  headers: Record<string, string>;
  /** Hex sha256 of the body (also the value of x-amz-content-sha256 for S3), or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

export interface SigV4Scope {
  region: string;
  service: string;
  /** ISO 8601 basic form, YYYYMMDD'T'HHMMSS'Z' (the x-amz-date header's value). */
  amzDate: string;
}

export interface SigV4Result {
  authorization: string;
  signature: string;
  signedHeaders: string;
  canonicalRequest: string;
  stringToSign: string;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding as SigV4 wants it: every byte but A–Z a–z 0–9 - . _ ~ (and '/' when keepSlash). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%': signed as sent, encoded
  }
};

/** The canonical URI: each path segment decoded once and encoded once (S3 does not normalise '.' or '//'). */
export function canonicalPath(pathname: string): string {
  return pathname === '' ? '/' : pathname.split('/').map((seg) => uriEncode(decode(seg))).join('/');
}

/** The canonical query string: name=value pairs encoded, sorted by name then value; a bare name gets '='. */
export function canonicalQuery(search: string): string {
  const q = search.startsWith('?') ? search.slice(1) : search;
  if (q === '') return '';
  const pairs = q.split('&').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    const [k, v] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
    return [uriEncode(decode(k)), uriEncode(decode(v))] as const;
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Sign a request with AWS Signature Version 4 (the Authorization header's value and the steps on the way). */
export function signV4(req: SigV4Request, creds: SigV4Credentials, scope: SigV4Scope): SigV4Result {
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k.toLowerCase(), v.trim().replace(/\s+/g, ' '));
  if (!headers.has('host')) headers.set('host', req.url.host);
  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.url.pathname),
    canonicalQuery(req.url.search),
    names.map((n) => `${n}:${headers.get(n)}\n`).join(''),
    signedHeaders,
    req.payloadHash,
  ].join('\n');
  const date = scope.amzDate.slice(0, 8);
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', scope.amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date), scope.region), scope.service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    signature,
    signedHeaders,
    canonicalRequest,
    stringToSign,
  };
}

/** A time as x-amz-date wants it: 20130524T000000Z. */
export const amzDate = (t: Date): string => t.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

// ---- the store -------------------------------------------------------------------------------------------------

/** Where the store's settings come from (process.env by default) and its retry policy. */
export interface S3StoreOptions {
  env?: Record<string, string | undefined>;
  /** Tries of a request that fails in transit or with 500/502/503/504, and of a 409 conditional conflict (default 5). */
  tries?: number;
  /** The first retry's wait in ms, doubling (default 200). */
  backoffMs?: number;
}

const ENV_HELP = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optional: AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** s3://bucket/prefix → bucket and prefix ('' or a key prefix without slashes at either end). */
export function parseS3Location(spec: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)\/*(.*?)\/*$/i.exec(spec);
  const bucket = m?.[1] ?? '';
  if (!BUCKET.test(bucket)) throw new GridError(`--results ${spec}: expected s3://BUCKET/PREFIX with a bucket name of 3–63 characters a–z, 0–9, '.' and '-'`);
  const prefix = m?.[2] ?? '';
  if (prefix !== '') {
    try {
      checkKey(prefix);
    } catch {
      throw new GridError(`--results ${spec}: the prefix ${JSON.stringify(prefix)} must be slash-separated names of letters, digits, '.', '_' and '-'`);
    }
  }
  return { bucket, prefix };
}

/** A request the bucket answered with an error: one line with the method, key, status and S3's error code. */
export class S3Error extends Error {
  override name = 'S3Error';
  constructor(
    readonly method: string,
    readonly target: string,
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`S3 ${method} ${target}: ${status} ${code}${detail === '' ? '' : ` (${detail})`}`);
  }
}

const xmlText = (xml: string, tag: string): string | null => {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m === null ? null : unescapeXml(m[1]!);
};

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!;
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const RETRY_STATUS = new Set([500, 502, 503, 504]);

/**
 * An S3-compatible bucket as a result store. Credentials, region and endpoint come from the standard AWS variables;
 * every request is signed (SigV4, payload hashed). workDir is null: there is no shared file system, so a cell's
 * run trains in local scratch space and a job taken over by another worker starts the cell again.
 */
export class S3Store implements ResultStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: URL;
  readonly region: string;
  private readonly creds: SigV4Credentials;
  private readonly tries: number;
  private readonly backoffMs: number;
  private bucketChecked: Promise<void> | null = null;

  constructor(spec: string, o: S3StoreOptions = {}) {
    const env = o.env ?? process.env;
    const { bucket, prefix } = parseS3Location(spec);
    this.bucket = bucket;
    this.prefix = prefix;
    this.location = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    const id = env.AWS_ACCESS_KEY_ID ?? '';
    const secret = env.AWS_SECRET_ACCESS_KEY ?? '';
    if (id === '' || secret === '') throw new GridError(`--results ${spec}: no S3 credentials; set ${ENV_HELP}`);
    this.creds = { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    this.region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || `https://s3.${this.region}.amazonaws.com`;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      url = new URL('invalid:');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.username !== '') {
      throw new GridError(`--results ${spec}: the S3 endpoint ${JSON.stringify(endpoint)} (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) must be an http:// or https:// URL such as http://minio:9000`);
    }
    this.endpoint = url;
    this.tries = o.tries ?? 5;
    this.backoffMs = o.backoffMs ?? 200;
  }

  /** The object key of a store key (under the prefix). */
  private objectKey(key: string): string {
    checkKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** Path-style URL: ENDPOINT/bucket[/key], each segment encoded; query pairs encoded as they are signed. */
  private url(objectKey: string | null, query: [string, string][] = []): URL {
    const base = this.endpoint.pathname.replace(/\/+$/, '');
    const path = `${base}/${uriEncode(this.bucket)}${objectKey === null ? '' : `/${uriEncode(objectKey, true)}`}`;
    const u = new URL(this.endpoint.origin);
    u.pathname = path;
    u.search = query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
    return u;
  }

  /** One signed request; retried when it fails in transit or with a 5xx that S3 asks to retry. */
  private async send(method: string, url: URL, body: Buffer | null, extra: Record<string, string>, what: string): Promise<Response> {
    const payloadHash = sha256Hex(body ?? '');
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...extra, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate(new Date()) };
      if (this.creds.sessionToken !== undefined) headers['x-amz-security-token'] = this.creds.sessionToken;
      const { authorization } = signV4({ method, url, headers, payloadHash }, this.creds, { region: this.region, service: 's3', amzDate: headers['x-amz-date']! });
      let res: Response;
      try {
        res = await fetch(url, { method, headers: { ...headers, authorization }, ...(body === null ? {} : { body }), signal: AbortSignal.timeout(120_000) });
      } catch (e) {
        if (attempt < this.tries) {
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new Error(`S3 ${method} ${what}: ${this.endpoint.origin} unreachable after ${attempt} tries (${cause ?? (e as Error).message})`, { cause: e });
      }
      if (RETRY_STATUS.has(res.status) && attempt < this.tries) {
        await res.arrayBuffer().catch(() => undefined);
        await sleep(this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      return res;
    }
  }

  /** The error of a response the caller does not handle (its body read for S3's <Code> and <Message>). */
  private async fail(res: Response, method: string, what: string): Promise<S3Error> {
    const xml = method === 'HEAD' ? '' : await res.text().catch(() => '');
    const code = xmlText(xml, 'Code') ?? (res.statusText || 'error');
    const message = (xmlText(xml, 'Message') ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
    return new S3Error(method, what, res.status, code, message);
  }

  private where(key: string): string {
    return `${this.location}/${key}`;
  }

  /**
   * Once per store: the bucket exists and these credentials may list it (a one-key ListObjectsV2, whose error has a
   * body with S3's code, unlike a HEAD's). After it, a 404 on HEAD means the key is absent, not the bucket.
   */
  private checkBucket(): Promise<void> {
    this.bucketChecked ??= (async () => {
      const what = `s3://${this.bucket}`;
      const res = await this.send('GET', this.url(null, [['list-type', '2'], ['max-keys', '1'], ['prefix', this.prefix === '' ? '' : `${this.prefix}/`]]), null, {}, what);
      if (res.ok) {
        await res.arrayBuffer();
        return;
      }
      this.bucketChecked = null;
      throw await this.fail(res, 'GET', what);
    })();
    return this.bucketChecked;
  }

  async get(key: string): Promise<string | null> {
    const url = this.url(this.objectKey(key));
    await this.checkBucket();
    const res = await this.send('GET', url, null, {}, this.where(key));
    if (res.ok) return await res.text();
    if (res.status === 404) {
      const err = await this.fail(res, 'GET', this.where(key));
      if (err.code === 'NoSuchKey') return null;
      throw err;
    }
    throw await this.fail(res, 'GET', this.where(key));
  }

  async has(key: string): Promise<boolean> {
    const url = this.url(this.objectKey(key));
    await this.checkBucket();
    const res = await this.send('HEAD', url, null, {}, this.where(key));
    if (res.ok) return true;
    if (res.status === 404) return false; // the bucket exists (checked above): the key does not
    throw await this.fail(res, 'HEAD', this.where(key));
  }

  async put(key: string, text: string): Promise<void> {
    const url = this.url(this.objectKey(key));
    await this.checkBucket();
    const body = Buffer.from(text, 'utf8');
    const res = await this.send('PUT', url, body, { 'content-type': 'application/json' }, this.where(key));
    if (!res.ok) throw await this.fail(res, 'PUT', this.where(key));
    await res.arrayBuffer();
  }

  /**
   * PUT with `If-None-Match: *`: 200 → written by this call; 412 Precondition Failed → the key exists (kept as it
   * is). 409 ConditionalRequestConflict (a concurrent write of the same key in flight) is retried, as the S3 docs
   * ask: the retry then gets 412 (the other write won) or 200. A PUT whose answer was lost in transit is retried
   * too; if the lost one had landed, the retry's 412 reports false for bytes this call wrote — never a second copy.
   */
  async putIfAbsent(key: string, text: string): Promise<boolean> {
    const url = this.url(this.objectKey(key));
    await this.checkBucket();
    const body = Buffer.from(text, 'utf8');
    for (let attempt = 1; ; attempt++) {
      const res = await this.send('PUT', url, body, { 'content-type': 'application/json', 'if-none-match': '*' }, this.where(key));
      if (res.ok) {
        await res.arrayBuffer();
        return true;
      }
      if (res.status === 412) {
        await res.arrayBuffer();
        return false;
      }
      if (res.status === 409 && attempt < this.tries) {
        await res.arrayBuffer();
        await sleep(this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      throw await this.fail(res, 'PUT', this.where(key));
    }
  }

  /** ListObjectsV2 of `prefix/` with delimiter '/': the keys directly under it, page after page. */
  async list(prefix: string): Promise<string[]> {
    const folder = `${this.objectKey(prefix)}/`;
    await this.checkBucket();
    const keys: string[] = [];
    let token: string | null = null;
    do {
      const query: [string, string][] = [['list-type', '2'], ['prefix', folder], ['delimiter', '/']];
      if (token !== null) query.push(['continuation-token', token]);
      const res = await this.send('GET', this.url(null, query), null, {}, `${this.location}/${prefix}/ (list)`);
      if (!res.ok) throw await this.fail(res, 'GET', `${this.location}/${prefix}/ (list)`);
      const xml = await res.text();
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(`${prefix}/${unescapeXml(m[1]!).slice(folder.length)}`);
      token = xmlText(xml, 'IsTruncated') === 'true' ? xmlText(xml, 'NextContinuationToken') : null;
    } while (token !== null);
    return keys.sort();
  }

  workDir(): null {
    return null;
  }
}
