// Activities that write a job's final report to the reports location.
import { ReportsDeps, writeReport } from './reports';

export function createReportActivities(deps: ReportsDeps) {
  return {
    /** The job's final report as JSON; returns its location and the prefix of all the job's files. */
    writeJobReport: async (input: {
      jobId: string;
      report: unknown;
    }): Promise<{ report: string; prefix: string }> => {
      const report = await writeReport(
        deps,
        `${input.jobId}/report.json`,
        `${JSON.stringify(input.report, null, 2)}\n`,
        'application/json',
      );
      return { report, prefix: report.slice(0, -'report.json'.length) };
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
