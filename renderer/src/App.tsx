/** Placeholder window until the real one (collections, documents, devices) arrives. */
export function App() {
  return (
    <main className="welcome">
      <h1>Tandem</h1>
      <p>Your devices, in sync — no server.</p>
    </main>
  )
}
