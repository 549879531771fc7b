import { StorageError, type Namespace } from '../../storage/index.ts'
import { segmentsContainer, uploadsContainer } from './multipart-manifest.ts'

/**
 * Deletes a bucket (a container of the account) for S3 and Swift alike:
 * NoSuchContainer when absent, NotEmpty while it holds objects or S3
 * multipart uploads are in progress; the hidden companion containers of
 * those uploads go with it.
 */
export async function removeBucket (namespace: Namespace, account: string, bucket: string): Promise<void> {
  await namespace.headContainer(account, bucket)
  const uploads = await namespace.listings.listObjects(account, uploadsContainer(bucket), { limit: 1 }).catch(() => undefined)
  if (uploads !== undefined && uploads.entries.length > 0) {
    throw new StorageError('NotEmpty', `bucket ${bucket} has multipart uploads in progress; abort them first`)
  }
  await namespace.deleteContainer(account, bucket)
  // Companion containers hold nothing once no upload is in progress.
  for (const companion of [uploadsContainer(bucket), segmentsContainer(bucket)]) {
    await namespace.deleteContainer(account, companion).catch(() => {})
  }
}
