import { S3Error } from './errors.ts'

const SHAPE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3']

/** S3's general-purpose bucket naming rules; a name that breaks one is InvalidBucketName. */
export function validateBucketName (name: string): void {
  const problem = bucketNameProblem(name)
  if (problem !== undefined) {
    throw new S3Error('InvalidBucketName', `The specified bucket is not valid: the name ${problem}.`, { details: { BucketName: name } })
  }
}

/**
 * No bucket can have a name that breaks the rules, so a request naming one
 * addresses none; this also keeps the companion containers the gateway
 * keeps beside a bucket (`<bucket>+segments`) out of reach.
 */
export function requireExistingBucketName (name: string): void {
  if (bucketNameProblem(name) !== undefined) throw new S3Error('NoSuchBucket', undefined, { details: { BucketName: name } })
}

function bucketNameProblem (name: string): string | undefined {
  return !SHAPE.test(name)
    ? 'must be 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit'
    : name.includes('..')
      ? 'must not contain two adjacent periods'
      : IP_ADDRESS.test(name)
        ? 'must not be formatted as an IP address'
        : RESERVED_PREFIXES.some((p) => name.startsWith(p)) || RESERVED_SUFFIXES.some((s) => name.endsWith(s))
          ? 'uses a reserved prefix or suffix'
          : undefined
}
