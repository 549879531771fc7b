import type { FastifyReply } from 'fastify'
import { DLO_LIMITS, LIMITS, SLO_LIMITS } from './limits.ts'

/** GET /info: what this Swift API offers, as Swift's capabilities document (clients read limits and features from it). */
export function sendInfo (reply: FastifyReply): void {
  reply.type('application/json').send({
    swift: { version: '2.30.0-ringstack', strict_cors_mode: true, policies: [{ name: 'default', default: true }], ...LIMITS },
    slo: { max_manifest_segments: SLO_LIMITS.max_manifest_segments, max_manifest_size: SLO_LIMITS.max_manifest_size, min_segment_size: SLO_LIMITS.min_segment_size },
    dlo: { max_segments: DLO_LIMITS.max_segments },
    cors: {},
    tempauth: { account_acls: false },
    keystoneauth: {}
  })
}
