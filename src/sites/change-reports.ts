/**
 * Change reports as the receiver gets them, decoded into hints. Only MinIO posts reports today
 * (its `audit_webhook` targets), so this is MinIO's format; a flavor that reports differently
 * makes this a choice by flavor, as `newSiteClient` is.
 */
import type { DecodedReport } from './change-feed.js';
import { decodeAuditReport } from './minio/audit-entry.js';

export function decodeChangeReport(body: string): DecodedReport {
  return decodeAuditReport(body);
}
