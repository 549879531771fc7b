import type { TierNode, Tiers } from './tiers.ts'

/**
 * Partition-replicas each device should hold: the total shared top-down over
 * region > zone > host > device by weight, where a child that would exceed
 * what dispersion lets it hold (parts x cap) is held at that and its excess
 * goes to its siblings by weight (water-fill). Each level is rounded to
 * integers by largest remainder, so targets add up exactly and respect caps.
 */
export function computeTargets (tiers: Tiers, parts: number): Int32Array {
  const target = new Int32Array(tiers.size)
  const visit = (node: TierNode, total: number): void => {
    if (node.children.length === 0) {
      target[node.index] = total
      return
    }
    const shares = round(node.children, waterFill(node.children, total, parts), total, parts)
    node.children.forEach((c, i) => visit(c, shares[i]!))
  }
  visit(tiers.root, parts * tiers.root.cap)
  return target
}

function waterFill (children: TierNode[], total: number, parts: number): Float64Array {
  const shares = new Float64Array(children.length)
  const capped = new Uint8Array(children.length)
  for (;;) {
    let remaining = total
    let weight = 0
    children.forEach((c, i) => {
      if (capped[i] === 1) remaining -= shares[i]!
      else weight += c.weight
    })
    let clipped = false
    children.forEach((c, i) => {
      if (capped[i] === 1) return
      const share = weight > 0 ? remaining * c.weight / weight : 0
      if (share > parts * c.cap) {
        shares[i] = parts * c.cap
        capped[i] = 1
        clipped = true
      } else {
        shares[i] = share
      }
    })
    if (!clipped) return shares
  }
}

function round (children: TierNode[], shares: Float64Array, total: number, parts: number): Int32Array {
  const out = new Int32Array(children.length)
  let left = total
  shares.forEach((s, i) => {
    out[i] = Math.min(Math.floor(s + 1e-9), parts * children[i]!.cap)
    left -= out[i]!
  })
  const order = children.map((_, i) => i).sort((a, b) =>
    (shares[b]! - out[b]!) - (shares[a]! - out[a]!) || children[b]!.weight - children[a]!.weight || a - b)
  while (left > 0) {
    let gave = false
    for (const i of order) {
      if (left === 0) break
      if (out[i]! >= parts * children[i]!.cap) continue
      out[i]!++
      left--
      gave = true
    }
    if (!gave) break
  }
  return out
}
