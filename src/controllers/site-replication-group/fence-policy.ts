/** Every write a principal could make to a site's objects, buckets or IAM, denied. */
export const FENCE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Deny',
      Action: [
        's3:Put*',
        's3:Delete*',
        's3:AbortMultipartUpload',
        's3:CreateBucket',
        's3:ForceDeleteBucket',
        's3:RestoreObject',
        's3:BypassGovernanceRetention',
        's3:ReplicateObject',
        's3:ReplicateDelete',
        's3:ReplicateTags',
      ],
      Resource: ['arn:aws:s3:::*'],
    },
    { Effect: 'Deny', Action: ['admin:*'] },
  ],
} as const;
