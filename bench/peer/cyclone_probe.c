/*
 * The latency probe without a garbage collector: a simulated robot in C on Cyclone DDS (as a ROS 2
 * driver on rmw_cyclonedds would be) that measures the controller node from the outside, next to the
 * Node.js probe (ros/probe.ts). bench/cyclone-probe.ts builds it (idlc on the IDL files here, gcc
 * against libddsc); bench/ros.bench.ts and test/ros/cprobe.test.ts run it.
 *
 *   cyclone_probe --model cartpole|diffdrive --rate HZ --ticks N --out FILE.json
 *                 [--warmup N] [--rt P] [--domain D] [--x0 a,b,...] [--wait-s S] [--bad-every N]
 *
 * Robots (the dynamics of models/continuous/, the topics and QoS of controllers/cartpole.json and diffdrive.json):
 *  - cartpole: state [p, v, q, omega] (q from the downward vertical, upright = pi; mc 1, mp 0.1, l 0.5,
 *    g 9.81) on rt/joint_states as sensor_msgs/JointState (joints cart_joint, pole_joint: position and
 *    velocity; frame 'world'); command: rt/effort_controller/commands, std_msgs/Float64MultiArray,
 *    data[0] = force. Initial state [0, 0, pi + 0.1, 0].
 *  - diffdrive: state [px, py, yaw, v, omega] (unicycle with first-order speed and yaw-rate lags,
 *    tau_v 0.2 s, tau_omega 0.1 s) on rt/odom as nav_msgs/Odometry (frame 'odom', child 'base_link',
 *    yaw as a quaternion); command: rt/cmd_vel, geometry_msgs/Twist linear.x / angular.z. Initial state
 *    [0, 0, 0.1, 0, 0].
 *  The plant integrates the latest command with RK4, 4 substeps per period (as ros/probe.ts does).
 *  QoS: state sensor_data (best-effort, volatile, keep-last 5); command default (reliable, volatile,
 *  keep-last 10). ROS_DOMAIN_ID (or --domain) selects the domain; CYCLONEDDS_URI the network.
 *
 * Timing: states are written on an absolute schedule (clock_nanosleep TIMER_ABSTIME on
 * CLOCK_MONOTONIC, start + i·period). Commands are taken in a data-available listener (Cyclone's
 * receive thread) and stamped with CLOCK_MONOTONIC on arrival. For each measured state:
 *  - latency: its write (the clock read just before dds_write) → the first command that arrives after
 *    it, until the next state is written;
 *  - deadline miss: no command arrived before the next state was due (start + (i+1)·period);
 *  - unanswered: no command arrived at all before the next state was written (no latency sample).
 * The two differ only when the probe itself ran late. Jitter: the intervals between the answering
 * commands' arrivals minus the period. Before the run the probe waits until the node's state reader
 * and command writer are matched (publication / subscription matched status) and a first command has
 * arrived (the node's watchdog publishes while it has no state), then writes --warmup states (default
 * 100) that are not counted, then --ticks measured states, then waits one more period for the last
 * answer. Everything the loop touches is allocated before it starts; the timer slack is set to 1 ns
 * (PR_SET_TIMERSLACK), so that ordinary scheduling does not add 50 µs to every wake-up.
 *
 * --rt P: SCHED_FIFO priority P for the process, set before Cyclone starts its threads (they inherit
 * it); a failure is reported and the probe exits 3. Exit codes: 0 done, 2 usage or DDS error, 3 --rt
 * failed, 4 no match or no first command within --wait-s (default 30).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "dds/dds.h"
#include "JointState.h"
#include "Odometry.h"
#include "Float64MultiArray.h"
#include "Geometry.h"

enum model_kind { CARTPOLE, DIFFDRIVE };

static const char *prog = "cyclone_probe";

static void die(const char *what, dds_return_t rc) {
  fprintf(stderr, "%s: %s: %s\n", prog, what, dds_strretcode(rc));
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t) {
  struct timespec ts = { .tv_sec = (time_t)(t / 1000000000LL), .tv_nsec = (long)(t % 1000000000LL) };
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

/* ---- the robots (models/continuous/cartpole.ts, diffdrive.ts) ---- */

#define NX_MAX 5
#define NU_MAX 2

static enum model_kind kind;
static int nx, nu;
/* cartpole: mc, mp, l, g; diffdrive: tau_v, tau_omega */
static const double CP[4] = { 1.0, 0.1, 0.5, 9.81 };
static const double DD[2] = { 0.2, 0.1 };

static void f(const double *x, const double *u, double *dx) {
  if (kind == CARTPOLE) {
    const double mc = CP[0], mp = CP[1], l = CP[2], g = CP[3];
    const double s = sin(x[2]), c = cos(x[2]), w = x[3], F = u[0];
    const double D = mc + mp * s * s;
    dx[0] = x[1];
    dx[1] = (F + mp * s * (l * w * w + g * c)) / D;
    dx[2] = w;
    dx[3] = (-F * c - mp * l * w * w * c * s - (mc + mp) * g * s) / (l * D);
  } else {
    dx[0] = x[3] * cos(x[2]);
    dx[1] = x[3] * sin(x[2]);
    dx[2] = x[4];
    dx[3] = (u[0] - x[3]) / DD[0];
    dx[4] = (u[1] - x[4]) / DD[1];
  }
}

/* x ← Φ(x, u) over dt: RK4 with `substeps` equal steps, u held. */
static void step(double *x, const double *u, double dt, int substeps) {
  const double h = dt / substeps;
  double k1[NX_MAX], k2[NX_MAX], k3[NX_MAX], k4[NX_MAX], y[NX_MAX];
  for (int s = 0; s < substeps; s++) {
    f(x, u, k1);
    for (int i = 0; i < nx; i++) y[i] = x[i] + 0.5 * h * k1[i];
    f(y, u, k2);
    for (int i = 0; i < nx; i++) y[i] = x[i] + 0.5 * h * k2[i];
    f(y, u, k3);
    for (int i = 0; i < nx; i++) y[i] = x[i] + h * k3[i];
    f(y, u, k4);
    for (int i = 0; i < nx; i++) x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  }
}

/* ---- what the listener shares with the main loop (under `mu`) ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double u_cmd[NU_MAX];
static long commands, nonFinite, malformed;
static long pending = -1;      /* the state awaiting its first command (-1: none) */
static int64_t *answerAt;      /* per state: arrival of its first command (0: none) */
static int64_t *cmdAt;         /* every command's arrival, in order (for the misses' record) */
static long cmdCap;

static int finite_all(const double *v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) if (!isfinite(v[i])) return 0;
  return 1;
}

/* Called with `mu` held. */
static void on_sample(const void *sample, int64_t at) {
  double v[NU_MAX];
  if (commands < cmdCap) cmdAt[commands] = at;
  commands++;
  if (kind == CARTPOLE) {
    const std_msgs_msg_dds__Float64MultiArray_ *m = sample;
    if (!finite_all(m->data._buffer, m->data._length)) { nonFinite++; return; }
    if (m->data._length < 1) { malformed++; return; }
    v[0] = m->data._buffer[0];
  } else {
    const geometry_msgs_msg_dds__Twist_ *m = sample;
    const double all[6] = { m->linear.x, m->linear.y, m->linear.z, m->angular.x, m->angular.y, m->angular.z };
    if (!finite_all(all, 6)) { nonFinite++; return; }
    v[0] = m->linear.x;
    v[1] = m->angular.z;
  }
  for (int i = 0; i < nu; i++) u_cmd[i] = v[i];
  if (pending >= 0 && answerAt[pending] == 0) answerAt[pending] = at;
}

#define TAKE_MAX 8

static void on_data_available(dds_entity_t rd, void *arg) {
  (void)arg;
  const int64_t at = now_ns();
  for (;;) {
    void *samples[TAKE_MAX] = { NULL };
    dds_sample_info_t infos[TAKE_MAX];
    dds_return_t n = dds_take(rd, samples, infos, TAKE_MAX, TAKE_MAX);
    if (n <= 0) break;
    pthread_mutex_lock(&mu);
    for (int k = 0; k < n; k++) if (infos[k].valid_data) on_sample(samples[k], at);
    pthread_mutex_unlock(&mu);
    dds_return_loan(rd, samples, n);
    if (n < TAKE_MAX) break;
  }
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}
/* as ros/probe.ts: s[min(n-1, floor(p n))] of the sorted samples */
static double pct(const double *s, long n, double p) {
  if (n <= 0) return NAN;
  long k = (long)floor(p * (double)n);
  return s[k < n - 1 ? k : n - 1];
}
static void jnum(FILE *o, double v) {
  if (isfinite(v)) fprintf(o, "%.17g", v); else fputs("null", o);
}

/* Threads of this process under SCHED_FIFO / all threads (what --rt reached). */
/*
 * Steal time: on a virtual machine the host can deschedule a virtual CPU, and then nothing in the guest
 * runs, whatever its priority. /proc/stat's 8th column per CPU counts it (USER_HZ ticks, 10 ms), so a
 * late wake-up that coincides with steal on its CPU was the host's doing, not the guest's.
 */
#define MAX_CPUS 64
static int read_steal(long long *steal, int max) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f) && n < max) {
    int cpu;
    long long v[8];
    if (sscanf(line, "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 && cpu >= 0 && cpu < max) {
      steal[cpu] = v[7];
      if (cpu + 1 > n) n = cpu + 1;
    } else if (strncmp(line, "cpu", 3) != 0) break;
  }
  fclose(f);
  return n;
}
/* this thread's run-queue wait so far (ns; /proc/thread-self/schedstat, second field) */
static long long read_runq_wait(void) {
  FILE *f = fopen("/proc/thread-self/schedstat", "r");
  if (!f) return -1;
  long long run = 0, wait = -1;
  if (fscanf(f, "%lld %lld", &run, &wait) != 2) wait = -1;
  fclose(f);
  return wait;
}

static void count_fifo_threads(int *fifo, int *all) {
  *fifo = 0; *all = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    (*all)++;
    if (sched_getscheduler((pid_t)atoi(e->d_name)) == SCHED_FIFO) (*fifo)++;
  }
  closedir(d);
}

static void usage(void) {
  fprintf(stderr, "usage: %s --model cartpole|diffdrive --rate HZ --ticks N --out FILE.json [--warmup N] [--rt P] [--domain D] [--x0 a,b,...] [--wait-s S] [--bad-every N]\n", prog);
  exit(2);
}

int main(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *x0s = NULL;
  double rate = 0, waitS = 30;
  long ticks = 0, warmup = 100, badEvery = 0;
  int rt = 0, domain = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--model")) model = v;
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--ticks")) ticks = atol(v);
    else if (!strcmp(a, "--warmup")) warmup = atol(v);
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--rt")) rt = atoi(v);
    else if (!strcmp(a, "--domain")) domain = atoi(v);
    else if (!strcmp(a, "--x0")) x0s = v;
    else if (!strcmp(a, "--wait-s")) waitS = atof(v);
    else if (!strcmp(a, "--bad-every")) badEvery = atol(v);
    else usage();
  }
  if (!model || !out || !(rate > 0) || ticks <= 0 || warmup < 0 || badEvery < 0) usage();
  if (!strcmp(model, "cartpole")) { kind = CARTPOLE; nx = 4; nu = 1; }
  else if (!strcmp(model, "diffdrive")) { kind = DIFFDRIVE; nx = 5; nu = 2; }
  else usage();
  if (domain < 0) { const char *e = getenv("ROS_DOMAIN_ID"); domain = e && *e ? atoi(e) : 0; }

  double x[NX_MAX] = { 0 };
  if (kind == CARTPOLE) x[2] = M_PI + 0.1; else x[2] = 0.1;
  if (x0s) {
    char *end = (char *)x0s;
    for (int i = 0; i < nx; i++) {
      x[i] = strtod(end, &end);
      if (i < nx - 1) { if (*end != ',') { fprintf(stderr, "%s: --x0 needs %d comma-separated values\n", prog, nx); return 2; } end++; }
    }
    if (*end) { fprintf(stderr, "%s: --x0 needs %d comma-separated values\n", prog, nx); return 2; }
  }

  /* wake-ups on time to the microsecond (the default timer slack of ordinary threads is 50 µs;
     SCHED_FIFO threads have none) */
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  /* before any DDS thread exists, so that Cyclone's threads inherit the policy */
  if (rt > 0) {
    struct sched_param sp = { .sched_priority = rt };
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
      fprintf(stderr, "%s: --rt %d: sched_setscheduler(SCHED_FIFO, %d) failed: %s (needs Linux and root or CAP_SYS_NICE)\n", prog, rt, rt, strerror(errno));
      return 3;
    }
  }

  const long total = warmup + ticks;
  const int64_t period = (int64_t)llround(1e9 / rate);
  answerAt = calloc((size_t)total, sizeof *answerAt);
  int64_t *writeAt = calloc((size_t)total, sizeof *writeAt);
  double *stampAt = calloc((size_t)total, sizeof *stampAt); /* the header stamp of each state (wall clock, s) */
  cmdCap = 2 * total + 1000;
  cmdAt = calloc((size_t)cmdCap, sizeof *cmdAt);
  double *lat = calloc((size_t)ticks, sizeof *lat), *late = calloc((size_t)ticks, sizeof *late);
  double *jit = calloc((size_t)ticks, sizeof *jit), *wr_us = calloc((size_t)ticks, sizeof *wr_us);
  if (!answerAt || !writeAt || !stampAt || !cmdAt || !lat || !late || !jit || !wr_us) { fprintf(stderr, "%s: out of memory\n", prog); return 2; }

  /* ---- DDS entities ---- */
  dds_entity_t pp = dds_create_participant((dds_domainid_t)domain, NULL, NULL);
  if (pp < 0) die("create participant", pp);
  const dds_topic_descriptor_t *stateDesc = kind == CARTPOLE ? &sensor_msgs_msg_dds__JointState__desc : &nav_msgs_msg_dds__Odometry__desc;
  const dds_topic_descriptor_t *cmdDesc = kind == CARTPOLE ? &std_msgs_msg_dds__Float64MultiArray__desc : &geometry_msgs_msg_dds__Twist__desc;
  const char *stateTopic = kind == CARTPOLE ? "rt/joint_states" : "rt/odom";
  const char *cmdTopic = kind == CARTPOLE ? "rt/effort_controller/commands" : "rt/cmd_vel";
  dds_entity_t st = dds_create_topic(pp, stateDesc, stateTopic, NULL, NULL);
  if (st < 0) die("create state topic", st);
  dds_entity_t ct = dds_create_topic(pp, cmdDesc, cmdTopic, NULL, NULL);
  if (ct < 0) die("create command topic", ct);

  dds_qos_t *sensor = dds_create_qos(); /* rmw_qos_profile_sensor_data */
  dds_qset_reliability(sensor, DDS_RELIABILITY_BEST_EFFORT, 0);
  dds_qset_durability(sensor, DDS_DURABILITY_VOLATILE);
  dds_qset_history(sensor, DDS_HISTORY_KEEP_LAST, 5);
  dds_qos_t *dflt = dds_create_qos(); /* rmw_qos_profile_default */
  dds_qset_reliability(dflt, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
  dds_qset_durability(dflt, DDS_DURABILITY_VOLATILE);
  dds_qset_history(dflt, DDS_HISTORY_KEEP_LAST, 10);

  dds_entity_t wr = dds_create_writer(pp, st, sensor, NULL);
  if (wr < 0) die("create state writer", wr);
  dds_listener_t *lis = dds_create_listener(NULL);
  dds_lset_data_available(lis, on_data_available);
  dds_entity_t rd = dds_create_reader(pp, ct, dflt, lis);
  if (rd < 0) die("create command reader", rd);
  dds_delete_listener(lis);

  /* ---- the state message, built once; the loop rewrites its numbers ---- */
  static char cart[] = "cart_joint", pole[] = "pole_joint", world[] = "world", odom[] = "odom", base[] = "base_link";
  static char *names[2] = { cart, pole };
  static double pos[2], vel[2], eff[2];
  sensor_msgs_msg_dds__JointState_ js;
  nav_msgs_msg_dds__Odometry_ od;
  memset(&js, 0, sizeof js);
  memset(&od, 0, sizeof od);
  js.header.frame_id = world;
  js.name = (dds_sequence_string){ ._maximum = 2, ._length = 2, ._buffer = names, ._release = false };
  js.position = (dds_sequence_double){ ._maximum = 2, ._length = 2, ._buffer = pos, ._release = false };
  js.velocity = (dds_sequence_double){ ._maximum = 2, ._length = 2, ._buffer = vel, ._release = false };
  js.effort = (dds_sequence_double){ ._maximum = 2, ._length = 2, ._buffer = eff, ._release = false };
  od.header.frame_id = odom;
  od.child_frame_id = base;
  const void *msg = kind == CARTPOLE ? (const void *)&js : (const void *)&od;

  /* ---- wait for the node: its state reader, its command writer, and a first command ---- */
  const int64_t waitUntil = now_ns() + (int64_t)(waitS * 1e9);
  for (;;) {
    dds_publication_matched_status_t pm;
    dds_subscription_matched_status_t sm;
    dds_return_t rc = dds_get_publication_matched_status(wr, &pm);
    if (rc < 0) die("publication matched status", rc);
    rc = dds_get_subscription_matched_status(rd, &sm);
    if (rc < 0) die("subscription matched status", rc);
    pthread_mutex_lock(&mu);
    const long c = commands;
    pthread_mutex_unlock(&mu);
    if (pm.current_count > 0 && sm.current_count > 0 && c > 0) break;
    if (now_ns() > waitUntil) {
      fprintf(stderr, "%s: within %.0f s: state reader matched %u, command writer matched %u, commands %ld\n", prog, waitS, pm.current_count, sm.current_count, c);
      return 4;
    }
    dds_sleepfor(DDS_MSECS(10));
  }
  fprintf(stderr, "%s: %s at %g Hz on domain %d: node matched, first command in; %ld warm-up + %ld states\n", prog, model, rate, domain, warmup, ticks);

  /* ---- the run ---- */
  struct rusage ru0, ru1;
  long nonFiniteWarm = 0, commandsWarm = 0, badStates = 0;
  const int64_t start = now_ns() + 10000000LL; /* 10 ms from now */
  /* late wake-ups (> 2 ms) with the steal on this CPU and on all CPUs since the previous wake-up, and
     this thread's run-queue wait over the same interval: steal says the host held the virtual CPU,
     run-queue wait that another thread of this machine did */
  enum { LATE_MAX = 50 };
  static struct { long index; double lateMs, stealCpuMs, stealAllMs, runqMs; int cpu; } lateRec[LATE_MAX];
  int nLateRec = 0;
  static long long steal0[MAX_CPUS], steal1[MAX_CPUS];
  int ncpu = read_steal(steal0, MAX_CPUS);
  long long runq0 = read_runq_wait();
  long long stealTotal0 = 0;
  for (int c = 0; c < ncpu; c++) stealTotal0 += steal0[c];
  for (long i = 0; i < total; i++) {
    const int64_t due = start + i * period;
    sleep_until(due);
    const int64_t woke = now_ns();
    {
      const int cpu = sched_getcpu();
      const int n1 = read_steal(steal1, MAX_CPUS);
      const long long runq1 = read_runq_wait();
      if (i >= warmup && woke - due > 2000000 && nLateRec < LATE_MAX) {
        long long all = 0;
        for (int c = 0; c < n1 && c < ncpu; c++) all += steal1[c] - steal0[c];
        const double tick = 1000.0 / (double)sysconf(_SC_CLK_TCK);
        lateRec[nLateRec].index = i - warmup; lateRec[nLateRec].lateMs = (double)(woke - due) / 1e6;
        lateRec[nLateRec].cpu = cpu;
        lateRec[nLateRec].stealCpuMs = cpu >= 0 && cpu < n1 && cpu < ncpu ? (double)(steal1[cpu] - steal0[cpu]) * tick : NAN;
        lateRec[nLateRec].stealAllMs = (double)all * tick;
        lateRec[nLateRec].runqMs = runq0 >= 0 && runq1 >= 0 ? (double)(runq1 - runq0) / 1e6 : NAN;
        nLateRec++;
      }
      memcpy(steal0, steal1, sizeof steal0);
      if (n1 > ncpu) ncpu = n1;
      runq0 = runq1;
    }
    if (i == warmup) {
      getrusage(RUSAGE_SELF, &ru0);
      pthread_mutex_lock(&mu);
      nonFiniteWarm = nonFinite; commandsWarm = commands;
      pthread_mutex_unlock(&mu);
    }
    double u[NU_MAX];
    pthread_mutex_lock(&mu);
    for (int k = 0; k < nu; k++) u[k] = u_cmd[k];
    pthread_mutex_unlock(&mu);
    step(x, u, 1.0 / rate, 4);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    if (kind == CARTPOLE) {
      js.header.stamp.sec = (int32_t)wall.tv_sec; js.header.stamp.nanosec = (uint32_t)wall.tv_nsec;
      pos[0] = x[0]; vel[0] = x[1]; pos[1] = x[2]; vel[1] = x[3];
    } else {
      od.header.stamp.sec = (int32_t)wall.tv_sec; od.header.stamp.nanosec = (uint32_t)wall.tv_nsec;
      od.pose.pose.position.x = x[0]; od.pose.pose.position.y = x[1];
      od.pose.pose.orientation.z = sin(x[2] / 2); od.pose.pose.orientation.w = cos(x[2] / 2);
      od.twist.twist.linear.x = x[3]; od.twist.twist.angular.z = x[4];
    }
    /* --bad-every N: every Nth measured state goes out malformed (the robot itself is unaffected), to
       check that a malformed message is dropped by itself: NaN pole angle / NaN orientation */
    const int bad = badEvery > 0 && i >= warmup && (i - warmup) % badEvery == badEvery - 1;
    if (bad) {
      if (kind == CARTPOLE) pos[1] = NAN; else od.pose.pose.orientation.w = NAN;
      badStates++;
    }
    const int64_t w = now_ns();
    pthread_mutex_lock(&mu);
    pending = i;
    writeAt[i] = w;
    pthread_mutex_unlock(&mu);
    stampAt[i] = (double)wall.tv_sec + 1e-9 * (double)wall.tv_nsec;
    dds_return_t rc = dds_write(wr, msg);
    if (rc < 0) die("write", rc);
    if (i >= warmup) {
      late[i - warmup] = (double)(woke - due) / 1e6;
      wr_us[i - warmup] = (double)(now_ns() - w) / 1e3;
    }
  }
  sleep_until(start + total * period); /* the last state's answer is due */
  pthread_mutex_lock(&mu);
  pending = -1;
  const long cmdTotal = commands, nfTotal = nonFinite, malTotal = malformed;
  pthread_mutex_unlock(&mu);
  getrusage(RUSAGE_SELF, &ru1);
  long long stealTotal1 = 0;
  { const int n1 = read_steal(steal1, MAX_CPUS); for (int c = 0; c < n1; c++) stealTotal1 += steal1[c]; }
  int fifo = 0, threads = 0;
  count_fifo_threads(&fifo, &threads);

  /* ---- the figures ---- */
  long nLat = 0, misses = 0, unanswered = 0, nJit = 0;
  int64_t prevAns = 0;
  double latSum = 0;
  for (long i = warmup; i < total; i++) {
    const int64_t nextDue = start + (i + 1) * period;
    if (answerAt[i] == 0) { unanswered++; misses++; continue; }
    if (answerAt[i] > nextDue) misses++;
    lat[nLat] = (double)(answerAt[i] - writeAt[i]) / 1e6;
    latSum += lat[nLat++];
    if (prevAns) jit[nJit++] = (double)(answerAt[i] - prevAns - period) / 1e6;
    prevAns = answerAt[i];
  }
  double jm = 0, jv = 0;
  for (long k = 0; k < nJit; k++) jm += jit[k];
  jm = nJit ? jm / nJit : 0;
  for (long k = 0; k < nJit; k++) { jv += (jit[k] - jm) * (jit[k] - jm); jit[k] = fabs(jit[k]); }
  jv = nJit ? jv / nJit : 0;
  qsort(lat, (size_t)nLat, sizeof *lat, cmp_double);
  qsort(jit, (size_t)nJit, sizeof *jit, cmp_double);
  qsort(late, (size_t)ticks, sizeof *late, cmp_double);
  qsort(wr_us, (size_t)ticks, sizeof *wr_us, cmp_double);

  FILE *o = fopen(out, "w");
  if (!o) { fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno)); return 2; }
  fprintf(o, "{\n \"probe\": \"c\",\n \"model\": \"%s\",\n \"rateHz\": ", model); jnum(o, rate);
  fprintf(o, ",\n \"ticks\": %ld,\n \"warmup\": %ld,\n \"commands\": %ld,\n \"commandsMeasured\": %ld,\n \"deadlineMisses\": %ld,\n \"unanswered\": %ld,\n \"nonFinite\": %ld,\n \"nonFiniteMeasured\": %ld,\n \"malformed\": %ld,\n \"badStates\": %ld,\n",
          ticks, warmup, cmdTotal, cmdTotal - commandsWarm, misses, unanswered, nfTotal, nfTotal - nonFiniteWarm, malTotal, badStates);
  fprintf(o, " \"latencyMs\": { \"p50\": "); jnum(o, pct(lat, nLat, 0.5));
  fprintf(o, ", \"p90\": "); jnum(o, pct(lat, nLat, 0.9));
  fprintf(o, ", \"p99\": "); jnum(o, pct(lat, nLat, 0.99));
  fprintf(o, ", \"p999\": "); jnum(o, pct(lat, nLat, 0.999));
  fprintf(o, ", \"max\": "); jnum(o, nLat ? lat[nLat - 1] : NAN);
  fprintf(o, ", \"mean\": "); jnum(o, nLat ? latSum / nLat : NAN);
  fprintf(o, ", \"samples\": %ld },\n", nLat);
  fprintf(o, " \"jitterMs\": { \"std\": "); jnum(o, nJit ? sqrt(jv) : NAN);
  fprintf(o, ", \"p99abs\": "); jnum(o, pct(jit, nJit, 0.99));
  fprintf(o, ", \"maxabs\": "); jnum(o, nJit ? jit[nJit - 1] : NAN);
  fprintf(o, " },\n \"probeLateMs\": { \"p50\": "); jnum(o, pct(late, ticks, 0.5));
  fprintf(o, ", \"p99\": "); jnum(o, pct(late, ticks, 0.99));
  fprintf(o, ", \"max\": "); jnum(o, late[ticks - 1]);
  fprintf(o, " },\n \"writeUs\": { \"p50\": "); jnum(o, pct(wr_us, ticks, 0.5));
  fprintf(o, ", \"p99\": "); jnum(o, pct(wr_us, ticks, 0.99));
  fprintf(o, ", \"max\": "); jnum(o, wr_us[ticks - 1]);
  fprintf(o, " },\n \"probeOs\": { \"majorPageFaults\": %ld, \"minorPageFaults\": %ld, \"involuntaryContextSwitches\": %ld, \"voluntaryContextSwitches\": %ld },\n",
          ru1.ru_majflt - ru0.ru_majflt, ru1.ru_minflt - ru0.ru_minflt, ru1.ru_nivcsw - ru0.ru_nivcsw, ru1.ru_nvcsw - ru0.ru_nvcsw);
  if (rt > 0) fprintf(o, " \"rt\": { \"priority\": %d, \"fifoThreads\": %d, \"threads\": %d },\n", rt, fifo, threads);
  else fprintf(o, " \"rt\": null,\n");
  /* each missed state (up to 20): where it was in the run, its header stamp (to find it in the node's
     record), and when the first command after its write came, so a late answer can be told from a lost one */
  fprintf(o, " \"stealMs\": %.0f,\n", (double)(stealTotal1 - stealTotal0) * 1000.0 / (double)sysconf(_SC_CLK_TCK));
  fprintf(o, " \"lateWakeups\": [");
  for (int k = 0; k < nLateRec; k++) {
    fprintf(o, "%s{ \"index\": %ld, \"lateMs\": ", k ? ", " : "", lateRec[k].index); jnum(o, lateRec[k].lateMs);
    fprintf(o, ", \"cpu\": %d, \"stealCpuMs\": ", lateRec[k].cpu); jnum(o, lateRec[k].stealCpuMs);
    fprintf(o, ", \"stealAllMs\": "); jnum(o, lateRec[k].stealAllMs);
    fprintf(o, ", \"runqWaitMs\": "); jnum(o, lateRec[k].runqMs);
    fprintf(o, " }");
  }
  fprintf(o, "],\n");
  fprintf(o, " \"missed\": [");
  for (long i = warmup, k = 0; i < total && k < 20; i++) {
    if (answerAt[i] != 0 && answerAt[i] <= start + (i + 1) * period) continue;
    long lo = 0, hi = cmdTotal < cmdCap ? cmdTotal : cmdCap; /* first command arriving after the write */
    while (lo < hi) { long mid = (lo + hi) / 2; if (cmdAt[mid] > writeAt[i]) hi = mid; else lo = mid + 1; }
    fprintf(o, "%s{ \"index\": %ld, \"stamp\": %.6f, \"answered\": %s, \"nextCommandMs\": ", k++ ? ", " : "", i - warmup, stampAt[i], answerAt[i] ? "true" : "false");
    jnum(o, lo < cmdTotal && lo < cmdCap ? (double)(cmdAt[lo] - writeAt[i]) / 1e6 : NAN);
    fprintf(o, ", \"writeLateMs\": "); jnum(o, (double)(writeAt[i] - (start + i * period)) / 1e6);
    fprintf(o, " }");
  }
  fprintf(o, "],\n");
  fprintf(o, " \"finalState\": [");
  for (int i = 0; i < nx; i++) { if (i) fputs(", ", o); jnum(o, x[i]); }
  fprintf(o, "]");
  if (kind == CARTPOLE) { fprintf(o, ",\n \"poleErrorRad\": "); jnum(o, fabs(x[2] - M_PI)); }
  else {
    fprintf(o, ",\n \"positionErrorM\": "); jnum(o, hypot(x[0], x[1]));
    fprintf(o, ",\n \"yawErrorRad\": "); jnum(o, fabs(remainder(x[2], 2 * M_PI)));
  }
  fprintf(o, "\n}\n");
  fclose(o);
  fprintf(stderr, "%s: done: %ld states, %ld answered, %ld deadline misses, %ld unanswered, %ld non-finite commands\n", prog, ticks, nLat, misses, unanswered, nfTotal);

  dds_delete_qos(sensor);
  dds_delete_qos(dflt);
  dds_delete(pp);
  return 0;
}
