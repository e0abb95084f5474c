// One page of ListObjectVersions in the order S3 sent it. The SDK parses versions and delete markers
// into two separate arrays, which loses their interleaving; entries with the same LastModified (AWS
// lists whole seconds) can then not be ordered. The raw XML keeps the order, so it is read as well.
import { ListObjectVersionsCommand, ListObjectVersionsCommandInput, S3Client } from '@aws-sdk/client-s3';
import { bareEtag, compareKeys, VersionEntry } from '../../core/versions';
import { activitySignal } from './signal';

export interface VersionsPage {
  /** Listing order: by key, newest first within a key. */
  entries: VersionEntry[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(parseInt(e.slice(1), 10))
        : XML_ENTITIES[e],
  );
}

/** "kind|key|versionId" for each <Version> and <DeleteMarker>, in document order. */
export function listingOrder(xml: string): string[] {
  const order: string[] = [];
  const re = /<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[2])?.[1] ?? '';
    const versionId = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[2])?.[1] ?? 'null';
    order.push(`${m[1] === 'Version' ? 'v' : 'm'}|${unescapeXml(key)}|${unescapeXml(versionId)}`);
  }
  return order;
}

export async function listVersionsPage(
  s3: S3Client,
  input: ListObjectVersionsCommandInput,
): Promise<VersionsPage> {
  const command = new ListObjectVersionsCommand(input);
  let xml = '';
  // Sits inside the SDK's deserializer: sees the raw body first, then hands the same bytes on.
  type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
  type Next = (args: unknown) => Promise<{ response: unknown }>;
  const captureBody = ((next: Next) => async (args: unknown) => {
    const out = await next(args);
    const response = out.response as { body?: AsyncIterable<Uint8Array> | Uint8Array; statusCode?: number };
    if (response.body && response.statusCode === 200 && !(response.body instanceof Uint8Array)) {
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
      const bytes = Buffer.concat(chunks);
      xml = bytes.toString('utf8');
      response.body = new Uint8Array(bytes);
    }
    return out;
  }) as unknown as Middleware;
  command.middlewareStack.addRelativeTo(captureBody, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'lifeboatListingOrder',
  });
  const page = await s3.send(command, { abortSignal: activitySignal() });
  const byId = new Map<string, VersionEntry>();
  for (const v of page.Versions ?? []) {
    const e: VersionEntry = {
      key: v.Key ?? '',
      versionId: v.VersionId ?? 'null',
      isDeleteMarker: false,
      isLatest: v.IsLatest === true,
      lastModified: (v.LastModified ?? new Date(0)).toISOString(),
      size: v.Size ?? 0,
      etag: bareEtag(v.ETag),
      storageClass: v.StorageClass,
    };
    byId.set(`v|${e.key}|${e.versionId}`, e);
  }
  for (const m of page.DeleteMarkers ?? []) {
    const e: VersionEntry = {
      key: m.Key ?? '',
      versionId: m.VersionId ?? 'null',
      isDeleteMarker: true,
      isLatest: m.IsLatest === true,
      lastModified: (m.LastModified ?? new Date(0)).toISOString(),
    };
    byId.set(`m|${e.key}|${e.versionId}`, e);
  }
  const ordered: VersionEntry[] = [];
  for (const id of listingOrder(xml)) {
    const e = byId.get(id);
    if (e) {
      ordered.push(e);
      byId.delete(id);
    }
  }
  // Anything the raw reading missed (it should be nothing) keeps the SDK's order after the rest.
  ordered.push(...byId.values());
  // S3 and RGW interleave versions and markers in key order. moto lists every <Version> first and
  // every <DeleteMarker> after them: put keys back in order (a stable sort keeps each key's own order).
  if (ordered.some((e, i) => i > 0 && compareKeys(ordered[i - 1].key, e.key) > 0))
    ordered.sort((a, b) => compareKeys(a.key, b.key));
  return {
    entries: ordered,
    isTruncated: page.IsTruncated === true,
    nextKeyMarker: page.NextKeyMarker,
    nextVersionIdMarker: page.NextVersionIdMarker,
  };
}
