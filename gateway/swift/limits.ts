import { MAX_CONTAINER_NAME_BYTES, MAX_OBJECT_NAME_BYTES } from './target.ts'

/** Swift's constraints as this gateway enforces them; /info publishes them. */
export const LIMITS = {
  max_file_size: 5 * 1024 ** 3,
  max_meta_name_length: 128,
  max_meta_value_length: 256,
  max_meta_count: 90,
  max_meta_overall_size: 4096,
  max_header_size: 8192,
  max_object_name_length: MAX_OBJECT_NAME_BYTES,
  max_container_name_length: MAX_CONTAINER_NAME_BYTES,
  container_listing_limit: 10000,
  account_listing_limit: 10000,
  extra_header_count: 0
}

/** Static Large Object limits. */
export const SLO_LIMITS = {
  max_manifest_segments: 1000,
  max_manifest_size: 8 * 1024 * 1024,
  min_segment_size: 1
}

/** Dynamic Large Object limit: segments read per manifest. */
export const DLO_LIMITS = { max_segments: 10000 }
