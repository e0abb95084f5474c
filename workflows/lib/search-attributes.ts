// Search attributes that make Lifeboat's runs findable in the Web UI (registered by the local stack).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

export const ProcedureKey = defineSearchAttributeKey('LifeboatProcedure', SearchAttributeType.KEYWORD);
export const TargetKey = defineSearchAttributeKey('LifeboatTarget', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('LifeboatPhase', SearchAttributeType.KEYWORD);

export function markRun(procedure: string, target: string): void {
  upsertSearchAttributes([
    { key: ProcedureKey, value: procedure },
    { key: TargetKey, value: target },
  ]);
}

export function markPhase(phase: string): void {
  upsertSearchAttributes([{ key: PhaseKey, value: phase }]);
}
