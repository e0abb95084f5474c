// The raw listing order of ListObjectVersions: versions and delete markers interleaved as S3 sent them.
import { listingOrder } from '../../activities/s3/list-versions';
import { bulkCopyWorkflowId, pointInTimeRestoreWorkflowId, versionRecoveryWorkflowId } from '../../core/ids';

const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult>
  <Name>b</Name>
  <Version><Key>a&amp;b &lt;c&gt;</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest></Version>
  <DeleteMarker><Key>a&amp;b &lt;c&gt;</Key><VersionId>m2</VersionId><IsLatest>false</IsLatest></DeleteMarker>
  <Version><Key>a&amp;b &lt;c&gt;</Key><VersionId>v1</VersionId></Version>
  <DeleteMarker><Key>caf&#233;/&#x1F600;</Key><VersionId>null</VersionId></DeleteMarker>
  <Version><Key>z</Key><VersionId>x+y/z=</VersionId></Version>
</ListVersionsResult>`;

it('keeps versions and markers in document order, with XML entities decoded', () => {
  expect(listingOrder(xml)).toEqual([
    'v|a&b <c>|v3',
    'm|a&b <c>|m2',
    'v|a&b <c>|v1',
    'm|café/😀|null',
    'v|z|x+y/z=',
  ]);
});

it('reads nothing from a listing without entries', () => {
  expect(listingOrder('<ListVersionsResult><Name>b</Name></ListVersionsResult>')).toEqual([]);
});

describe('workflow ids from business keys', () => {
  it.each([
    [
      { action: 'copy-version', bucket: 'b', keys: ['k'], versionId: 'v1' },
      'recover/primary/b/copy-version/k/v1',
    ],
    [
      { action: 'remove-delete-marker', bucket: 'b', keys: ['k'], dryRun: true },
      'recover/primary/b/remove-delete-marker-dry-run/k/current',
    ],
    [{ action: 'download', region: 'eu', bucket: 'b', keys: ['a', 'b'] }, 'recover/eu/b/download/2-keys-'],
  ])('versionRecovery %j', (input, expected) => {
    expect(versionRecoveryWorkflowId(input)).toContain(expected);
  });

  it('is stable for the same request and differs for another', () => {
    const a = versionRecoveryWorkflowId({ action: 'download', bucket: 'b', keys: ['x', 'y'] });
    expect(versionRecoveryWorkflowId({ action: 'download', bucket: 'b', keys: ['x', 'y'] })).toBe(a);
    expect(versionRecoveryWorkflowId({ action: 'download', bucket: 'b', keys: ['x', 'z'] })).not.toBe(a);
  });

  it('names point-in-time restores and copies by source, target and time', () => {
    expect(pointInTimeRestoreWorkflowId({ source: { bucket: 'b', prefix: 'p/' }, at: 'T' })).toBe(
      'pitr/primary/b/p/@T',
    );
    expect(
      pointInTimeRestoreWorkflowId({
        source: { bucket: 'b' },
        target: { region: 'eu', bucket: 'c' },
        at: 'T',
        dryRun: true,
      }),
    ).toBe('pitr/primary/b/@T/to/eu/c//dry-run');
    expect(bulkCopyWorkflowId({ source: { bucket: 'b' }, target: { bucket: 'c', prefix: 'x/' } })).toBe(
      'copy/primary/b//to/primary/c/x/',
    );
  });
});
