// Counts the S3 requests a tool made, from the RGW access log (one "beast:" line per request): only
// the application's requests to the given buckets, not the zones' replication traffic.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface RequestCounts {
  total: number;
  /** Sum of the server-side latencies (seconds): divided by wall time, the requests in flight on average. */
  latencySeconds: number;
  /** By kind: list, get, head, put (PutObject or CopyObject), part (UploadPart/UploadPartCopy), multipart, delete, bucket (bucket settings and checks). */
  byKind: Record<string, number>;
}

export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

function readFrom(file: string, offset: number): string {
  const size = statSync(file).size;
  if (size <= offset) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const BEAST = /beast: \S+ \S+ - (\S+) \[[^\]]*\] "(\S+) (\S+) HTTP/;

function kindOf(method: string, path: string): string {
  const [p, query = ''] = path.split('?');
  const hasKey = p.split('/').filter(Boolean).length > 1;
  if (!hasKey) {
    if (method === 'POST') return 'delete';
    const config =
      /(^|&)(versioning|location|acl|policy|tagging|lifecycle|cors|encryption|object-lock)(=|&|$)/;
    return method === 'GET' && !config.test(query) ? 'list' : 'bucket';
  }
  if (method === 'GET') return 'get';
  if (method === 'HEAD') return 'head';
  if (method === 'DELETE') return 'delete';
  if (method === 'PUT') return /(^|&)partNumber=/.test(query) ? 'part' : 'put';
  return 'multipart';
}

/** Requests logged after `offset` by users other than `excludeUser` on any of `buckets`. */
export function countRequests(
  file: string,
  offset: number,
  buckets: ReadonlySet<string>,
  excludeUser: string,
): RequestCounts {
  const counts: RequestCounts = { total: 0, latencySeconds: 0, byKind: {} };
  if (offset < 0) return counts;
  for (const line of readFrom(file, offset).split('\n')) {
    const m = BEAST.exec(line);
    if (!m || m[1] === excludeUser) continue;
    const bucket = decodeURIComponent(m[3].split('?')[0].split('/')[1] ?? '');
    if (!buckets.has(bucket)) continue;
    const kind = kindOf(m[2], m[3]);
    counts.total += 1;
    counts.latencySeconds += Number(/ latency=([\d.]+)s/.exec(line)?.[1] ?? 0);
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
  }
  return counts;
}
