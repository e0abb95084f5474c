// A lean CopyObject for the bulk engine's hot path: one signed HTTP request on a keep-alive socket,
// without the AWS SDK's middleware stack. On small objects the SDK's per-request work (endpoint rules,
// schema serde, XML parsing, retry bookkeeping) cost the worker three times the CPU of the request
// itself, on a machine whose CPU the S3 server shares (docs/benchmarks.md). Used for path-style
// requests to an explicit endpoint (Ceph RGW, moto, MinIO, the local stack); anything else, and every
// other call, goes through the SDK. Credentials, region and endpoint are read from the S3Client itself.
import { S3Client } from '@aws-sdk/client-s3';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface FastCopyRequest {
  bucket: string;
  key: string;
  /** The x-amz-copy-source value, already encoded (see copySource). */
  copySource: string;
  /** Extra x-amz-* headers (directives, storage class), lower-case names. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An S3 error as the SDK shapes it, so classifyS3Error and describe() treat both paths alike. */
export class FastS3Error extends Error {
  readonly Code: string;
  readonly $metadata: { httpStatusCode?: number };
  readonly $retryable: boolean;
  constructor(code: string, message: string, status: number | undefined, retryable: boolean) {
    super(message);
    this.name = code;
    this.Code = code;
    this.$metadata = { httpStatusCode: status };
    this.$retryable = retryable;
  }
}

interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface Target {
  protocol: 'http:' | 'https:';
  hostname: string;
  port?: number;
  basePath: string;
  region: string;
  credentials: () => Promise<Identity>;
  agent: http.Agent;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const MAX_ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 10_000;
const RETRYABLE_CODES = new Set([
  'InternalError',
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'Throttling',
  'ThrottlingException',
]);

const disabled = new WeakSet<S3Client>();
const targets = new WeakMap<S3Client, Promise<Target | undefined>>();

/** Keep every request of this client on the SDK (a region profile's `fastCopy: false`). */
export function disableFastCopy(client: S3Client): void {
  disabled.add(client);
}

/** RFC 3986 encoding of one path segment, as SigV4 canonicalizes it. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

let signingKeyCache: { id: string; key: Buffer } | undefined;
function signingKey(secret: string, date: string, region: string): Buffer {
  const id = `${secret}\n${date}\n${region}`;
  if (signingKeyCache?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
    signingKeyCache = { id, key };
  }
  return signingKeyCache.key;
}

/**
 * SigV4 headers for a request without a query string or body (a CopyObject). `headers` holds the
 * headers to sign (lower-case names, host included); the authorization header is added to it.
 */
export function signRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  identity: Identity,
  region: string,
  now: Date,
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = EMPTY_SHA256;
  if (identity.sessionToken) headers['x-amz-security-token'] = identity.sessionToken;
  const names = Object.keys(headers).sort();
  const signed = names.join(';');
  let canonical = `${method}\n${path}\n\n`;
  for (const n of names) canonical += `${n}:${headers[n].trim().replace(/\s+/g, ' ')}\n`;
  canonical += `\n${signed}\n${EMPTY_SHA256}`;
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', signingKey(identity.secretAccessKey, date, region))
    .update(toSign)
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${identity.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
  return headers;
}

async function resolveTarget(client: S3Client): Promise<Target | undefined> {
  const config = client.config as unknown as {
    isCustomEndpoint?: boolean;
    forcePathStyle?: boolean;
    endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path?: string }>;
    region: () => Promise<string>;
    credentials: () => Promise<Identity>;
  };
  if (!config.isCustomEndpoint || !config.forcePathStyle || !config.endpoint) return undefined;
  const endpoint = await config.endpoint();
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') return undefined;
  const Agent = endpoint.protocol === 'https:' ? https.Agent : http.Agent;
  return {
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port,
    basePath: (endpoint.path ?? '/').replace(/\/+$/, ''),
    region: await config.region(),
    credentials: () => config.credentials(),
    agent: new Agent({ keepAlive: true, maxSockets: 64 }),
  };
}

/** The lean copier of this client, or undefined when its requests must go through the SDK. */
export function fastCopier(client: S3Client): Promise<Target | undefined> | undefined {
  if (disabled.has(client)) return undefined;
  let t = targets.get(client);
  if (!t) {
    t = resolveTarget(client).catch(() => undefined);
    targets.set(client, t);
  }
  return t;
}

function xmlField(body: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
  return m ? m[1] : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&(quot|amp|lt|gt|apos|#34);/g, (_, e: string) =>
    e === 'quot' || e === '#34' ? '"' : e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : "'",
  );
}

let clockOffsetMs = 0;

function once(target: Target, req: FastCopyRequest, identity: Identity): Promise<{ etag?: string }> {
  const path = `${target.basePath}/${req.bucket}/${encodeKeyPath(req.key)}`;
  const host = target.port ? `${target.hostname}:${target.port}` : target.hostname;
  const headers = signRequest(
    'PUT',
    path,
    { host, 'x-amz-copy-source': req.copySource, ...req.headers },
    identity,
    target.region,
    new Date(Date.now() + clockOffsetMs),
  );
  headers['content-length'] = '0';
  const request = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const r = request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: 'PUT',
        path,
        headers,
        agent: target.agent,
        signal: req.signal,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // S3 may answer 200 and then report an error in the body of a copy.
          if (status >= 300 || body.includes('<Error>')) {
            const code = xmlField(body, 'Code') ?? (status === 404 ? 'NotFound' : `Http${status}`);
            if (code === 'RequestTimeTooSkewed' && res.headers.date) {
              clockOffsetMs = Date.parse(res.headers.date) - Date.now();
            }
            const message = unescapeXml(xmlField(body, 'Message') ?? `${code} (HTTP ${status})`);
            reject(new FastS3Error(code, message, status, status >= 500 || RETRYABLE_CODES.has(code)));
            return;
          }
          const etag = xmlField(body, 'ETag');
          resolve({ etag: etag !== undefined ? unescapeXml(etag) : undefined });
        });
      },
    );
    r.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(
        () =>
          r.destroy(new FastS3Error('TimeoutError', `no connection to ${host} within 10 s`, undefined, true)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof FastS3Error || err.name === 'AbortError') reject(err);
      // A reset keep-alive socket, a refused connection: the network, worth another try.
      else reject(Object.assign(err, { $retryable: true }));
    });
    r.end();
  });
}

/** CopyObject through the lean path, with the SDK's standard retry policy (3 attempts, backoff). */
export async function fastCopyObject(target: Target, req: FastCopyRequest): Promise<{ etag?: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(target, req, await target.credentials());
    } catch (err) {
      const retryable = (err as { $retryable?: boolean }).$retryable === true;
      if (!retryable || attempt >= MAX_ATTEMPTS || req.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 100 * 2 ** attempt));
    }
  }
}
