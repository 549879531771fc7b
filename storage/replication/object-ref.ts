import type { ObjectRef } from '../types.ts'

/** `/a/c/o` (an index entry's name) back into a ref; the object part may hold slashes, account and container may not. */
export function refOf (name: string, device: string, partition: number): ObjectRef {
  const second = name.indexOf('/', 1)
  const third = name.indexOf('/', second + 1)
  return { device, partition, account: name.slice(1, second), container: name.slice(second + 1, third), object: name.slice(third + 1) }
}
