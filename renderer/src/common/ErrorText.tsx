/** An inline error, announced to screen readers. */
export function ErrorText({ error }: { error: string | null }) {
  if (error === null) return null
  return <p className="error" role="alert">{error}</p>
}
