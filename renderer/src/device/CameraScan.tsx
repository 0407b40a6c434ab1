/**
 * Scan another device's invite QR with the camera. The Electron shell grants the camera only on
 * This device and only for video; a browser asks the person.
 */
import { useEffect, useRef, useState } from 'react'
import { ErrorText } from '../common/ErrorText.tsx'
import { decodeQr } from './qr-decode.ts'

/** How often a frame is checked: enough to feel instant, little work for the CPU. */
const SCAN_EVERY_MS = 250

export function CameraScan({ onFound }: { onFound: (text: string) => void }) {
  const [on, setOn] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const video = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    if (!on) return
    let stopped = false
    let stream: MediaStream | null = null
    let timer: ReturnType<typeof setTimeout> | undefined
    const scan = async (): Promise<void> => {
      const v = video.current
      if (stopped || v === null) return
      if (v.videoWidth > 0) {
        const text = await decodeQr(v, v.videoWidth, v.videoHeight)
        if (text !== null && !stopped) {
          onFound(text)
          setOn(false)
          return
        }
      }
      timer = setTimeout(() => void scan(), SCAN_EVERY_MS)
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(async (s) => {
      stream = s
      if (stopped || video.current === null) return
      video.current.srcObject = s
      await video.current.play()
      void scan()
    }, () => {
      setError('The camera is not available here. Load a picture of the QR code instead, or paste the link.')
      setOn(false)
    })
    return () => {
      stopped = true
      clearTimeout(timer)
      for (const track of stream?.getTracks() ?? []) track.stop()
    }
  }, [on, onFound])
  return (
    <div className="camera">
      {on && <video ref={video} className="camera-view" muted playsInline aria-label="Camera view" />}
      <button type="button" className="small" onClick={() => { setError(null); setOn(!on) }}>
        {on ? 'Stop camera' : 'Scan with camera'}
      </button>
      <ErrorText error={error} />
    </div>
  )
}
