import type { FastifyInstance } from 'fastify'
import type { IncomingMessage } from 'node:http'

/**
 * S3 and the OpenStack APIs share the HTTP port, and any OpenStack path
 * (`/volume/...`) is also a valid S3 path-style bucket. What tells them
 * apart is how the request authenticates: AWS signatures (header or
 * presigned query) go to S3, everything else to the OpenStack routes, which
 * are registered with `constraints: { api: 'openstack' }` so the S3
 * catch-all keeps every path they do not claim.
 */
export function addApiConstraint (app: FastifyInstance): void {
  app.addConstraintStrategy({
    name: 'api',
    storage () {
      const handlers = new Map<string, unknown>()
      return {
        get: (value: string) => (handlers.get(value) ?? null) as never,
        set: (value: string, handler: unknown) => { handlers.set(value, handler) }
      }
    },
    deriveConstraint: (request: IncomingMessage) => isAwsRequest(request) ? 's3' : 'openstack',
    mustMatchWhenDerived: false
  })
}

export const OPENSTACK = { api: 'openstack' }

function isAwsRequest (request: IncomingMessage): boolean {
  if ((request.headers.authorization ?? '').startsWith('AWS')) return true
  const query = request.url?.split('?', 2)[1]
  return query !== undefined && /(^|&)(X-Amz-Credential|AWSAccessKeyId)=/i.test(query)
}
