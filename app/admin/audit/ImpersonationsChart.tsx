"use client"
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis, type BarShapeProps } from "recharts"
import type { DailyCount } from "app/audit/search"

export const CHART_LABEL = "Impersonations per day, last 30 days"

/** One rectangle per day, zero-height days included, so the bars can be counted. */
function DayBar(props: BarShapeProps) {
  const { day, count } = props.payload as DailyCount
  return (
    <rect
      data-testid="impersonations-day-bar"
      data-day={day}
      data-count={count}
      x={props.x}
      y={props.y}
      width={props.width}
      height={Math.max(0, props.height ?? 0)}
      fill="var(--accent)"
    />
  )
}

/** Impersonations started per day (UTC); fixed size, so recharts needs no measured parent. */
export function ImpersonationsChart({ data }: { data: DailyCount[] }) {
  return (
    <div role="img" aria-label={CHART_LABEL} className="audit-chart">
      <BarChart
        width={760}
        height={220}
        data={data}
        margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
      >
        <CartesianGrid vertical={false} stroke="#e5e7eb" />
        <XAxis
          dataKey="day"
          tickFormatter={(day: string) => day.slice(5)}
          interval={4}
          fontSize={12}
        />
        <YAxis allowDecimals={false} width={32} fontSize={12} />
        <Tooltip />
        <Bar
          dataKey="count"
          name="Impersonations"
          isAnimationActive={false}
          shape={DayBar}
          activeBar={DayBar}
        />
      </BarChart>
    </div>
  )
}
