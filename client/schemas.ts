// `npm run docs:schemas`: writes the JSON Schema of each workflow input to docs/schemas/, for Web UI users.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LifeboatConfig } from '../core/config';
import { RegionFailbackInput, RegionFailoverInput } from '../core/failover';
import { BulkCopyInput, PointInTimeRestoreInput } from '../core/pitr';
import { VerifyReplicaInput } from '../core/replica-diff';
import { UndoRestoreInput } from '../core/undo';
import { VersionRecoveryInput } from '../core/version-recovery';
import { projectRoot } from '../worker/config';

export const SCHEMAS: Record<string, z.ZodType> = {
  'version-recovery.input': VersionRecoveryInput,
  'point-in-time-restore.input': PointInTimeRestoreInput,
  'bulk-copy.input': BulkCopyInput,
  'undo-restore.input': UndoRestoreInput,
  'verify-replica.input': VerifyReplicaInput,
  'region-failover.input': RegionFailoverInput,
  'region-failback.input': RegionFailbackInput,
  'lifeboat.config': LifeboatConfig,
};

export function schemaText(schema: z.ZodType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`;
}

if (require.main === module) {
  const dir = join(projectRoot(), 'docs', 'schemas');
  mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    writeFileSync(join(dir, `${name}.schema.json`), schemaText(schema));
    process.stdout.write(`wrote docs/schemas/${name}.schema.json\n`);
  }
}
