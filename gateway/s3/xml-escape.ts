/**
 * Text as XML element content. Markup characters become entities; control
 * characters, which XML 1.0 cannot carry literally, and CR, which parsers
 * would turn into LF, become character references, as S3 sends them. NUL
 * has no reference in any XML version (an error's Resource may hold one):
 * it becomes U+FFFD so the document still parses.
 */
const XML_SPECIAL = /[&<>"'\u0000-\u0008\u000b-\u001f]/g
const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\u0000': '\ufffd' }

export function escapeXml (text: string): string {
  return text.replace(XML_SPECIAL, (c) => XML_ENTITIES[c] ?? `&#${c.charCodeAt(0)};`)
}
