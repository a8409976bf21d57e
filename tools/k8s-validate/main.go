// k8s-validate checks rendered Kubernetes manifests (a multi-document YAML stream, e.g. `helm template` output)
// without a cluster and without downloading schemas: every document is decoded strictly into the Go type that the
// Kubernetes API server itself uses (k8s.io/api), so an unknown or misspelt field, a wrong type or a duplicate key
// is an error, and a kind this tool does not know is an error too. Then it checks what decoding cannot: required
// fields, names, and the references between objects (selectors, ports, volumes, secrets, scale targets).
//
//	helm template ... | k8s-validate            exit 0 and a one-line summary, or exit 1 and every problem
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// known maps apiVersion/kind to a constructor of its API type. Only stable API versions: a manifest that uses a
// removed or beta version fails here rather than in the cluster.
var known = map[string]func() any{
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/Ingress":           func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	// The Prometheus Operator's resources (the chart's optional metrics.serviceMonitor and metrics.prometheusRule).
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

type doc struct {
	source string // "# Source:" comment of helm template, or the document's index
	kind   string
	name   string
	obj    any
}

type checker struct{ problems []string }

func (c *checker) add(where, format string, args ...any) {
	c.problems = append(c.problems, where+": "+fmt.Sprintf(format, args...))
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c := &checker{}
	docs := decodeAll(c, data)
	if len(docs) == 0 && len(c.problems) == 0 {
		c.add("input", "no Kubernetes objects")
	}
	checkObjects(c, docs)
	crossCheck(c, docs)
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Println("ERROR", p)
		}
		os.Exit(1)
	}
	counts := map[string]int{}
	for _, d := range docs {
		counts[d.kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	fmt.Printf("OK %d objects: %s\n", len(docs), strings.Join(kinds, " "))
}

// splitDocuments splits a YAML stream on `---` lines, keeping helm's "# Source:" comment as the document's name.
func splitDocuments(data []byte) [][2]string {
	var out [][2]string
	var cur bytes.Buffer
	source := ""
	flush := func() {
		if strings.TrimSpace(stripComments(cur.String())) != "" {
			out = append(out, [2]string{source, cur.String()})
		}
		cur.Reset()
		source = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " ") == "---" {
			flush()
			continue
		}
		if s, ok := strings.CutPrefix(line, "# Source: "); ok && source == "" {
			source = s
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func decodeAll(c *checker, data []byte) []doc {
	var docs []doc
	for i, part := range splitDocuments(data) {
		where := part[0]
		if where == "" {
			where = fmt.Sprintf("document %d", i+1)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(part[1]), &meta); err != nil {
			c.add(where, "not YAML: %v", err)
			continue
		}
		key := meta.APIVersion + "/" + meta.Kind
		newObj, ok := known[key]
		if !ok {
			c.add(where, "unknown apiVersion/kind %q", key)
			continue
		}
		obj := newObj()
		// Strict: unknown fields and duplicate keys are errors, as with `kubectl apply --validate=strict`.
		if err := yaml.UnmarshalStrict([]byte(part[1]), obj); err != nil {
			c.add(where, "%s %q does not decode strictly: %v", meta.Kind, meta.Metadata.Name, err)
			continue
		}
		docs = append(docs, doc{source: where, kind: meta.Kind, name: meta.Metadata.Name, obj: obj})
	}
	return docs
}

func checkName(c *checker, where, name string, label bool) {
	if name == "" {
		c.add(where, "metadata.name is empty")
		return
	}
	var errs []string
	if label {
		errs = validation.IsDNS1035Label(name)
	} else {
		errs = validation.IsDNS1123Subdomain(name)
	}
	for _, e := range errs {
		c.add(where, "name %q: %s", name, e)
	}
}

func checkLabels(c *checker, where string, l map[string]string) {
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			c.add(where, "label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			c.add(where, "label %s=%q: %s", k, v, e)
		}
	}
}

func checkObjects(c *checker, docs []doc) {
	seen := map[string]string{}
	for _, d := range docs {
		id := d.kind + "/" + d.name
		if prev, dup := seen[id]; dup {
			c.add(d.source, "%s is also defined in %s", id, prev)
		}
		seen[id] = d.source
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			checkName(c, d.source, o.Name, false)
			checkLabels(c, d.source, o.Labels)
			checkSelector(c, d.source, o.Spec.Selector, o.Spec.Template.Labels)
			checkPod(c, d.source, &o.Spec.Template.Spec)
		case *batchv1.Job:
			checkName(c, d.source, o.Name, false)
			checkLabels(c, d.source, o.Labels)
			if p := o.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
				c.add(d.source, "a Job's restartPolicy must be Never or OnFailure, not %q", p)
			}
			checkPod(c, d.source, &o.Spec.Template.Spec)
		case *corev1.Service:
			checkName(c, d.source, o.Name, true)
			checkLabels(c, d.source, o.Labels)
			if len(o.Spec.Ports) == 0 {
				c.add(d.source, "Service %q has no ports", o.Name)
			}
			for _, p := range o.Spec.Ports {
				if p.Port < 1 || p.Port > 65535 {
					c.add(d.source, "Service port %d out of range", p.Port)
				}
				if len(o.Spec.Ports) > 1 && p.Name == "" {
					c.add(d.source, "Service %q has several ports, each needs a name", o.Name)
				}
			}
			if len(o.Spec.Selector) == 0 {
				c.add(d.source, "Service %q selects no pods", o.Name)
			}
		case *corev1.Secret:
			checkName(c, d.source, o.Name, false)
			for k := range o.StringData {
				for _, e := range validation.IsConfigMapKey(k) {
					c.add(d.source, "secret key %q: %s", k, e)
				}
			}
			for k := range o.Data {
				for _, e := range validation.IsConfigMapKey(k) {
					c.add(d.source, "secret key %q: %s", k, e)
				}
			}
		case *policyv1.PodDisruptionBudget:
			checkName(c, d.source, o.Name, false)
			if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
				c.add(d.source, "a PodDisruptionBudget sets exactly one of minAvailable and maxUnavailable")
			}
			if o.Spec.Selector == nil || (len(o.Spec.Selector.MatchLabels) == 0 && len(o.Spec.Selector.MatchExpressions) == 0) {
				c.add(d.source, "PodDisruptionBudget %q selects nothing", o.Name)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			checkName(c, d.source, o.Name, false)
			if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
				c.add(d.source, "minReplicas %d > maxReplicas %d", *o.Spec.MinReplicas, o.Spec.MaxReplicas)
			}
			if len(o.Spec.Metrics) == 0 {
				c.add(d.source, "HorizontalPodAutoscaler %q has no metrics", o.Name)
			}
		case *monitoringv1.PrometheusRule:
			checkName(c, d.source, o.Name, false)
			checkLabels(c, d.source, o.Labels)
			if len(o.Spec.Groups) == 0 {
				c.add(d.source, "PrometheusRule %q has no rule groups", o.Name)
			}
			for _, g := range o.Spec.Groups {
				for _, r := range g.Rules {
					if r.Expr.String() == "" {
						c.add(d.source, "PrometheusRule %q group %q: a rule without expr", o.Name, g.Name)
					}
				}
			}
		case *monitoringv1.ServiceMonitor:
			checkName(c, d.source, o.Name, false)
			checkLabels(c, d.source, o.Labels)
			if len(o.Spec.Endpoints) == 0 {
				c.add(d.source, "ServiceMonitor %q has no endpoints", o.Name)
			}
		case *networkingv1.Ingress:
			checkName(c, d.source, o.Name, false)
			for _, r := range o.Spec.Rules {
				for _, e := range validation.IsDNS1123Subdomain(r.Host) {
					c.add(d.source, "ingress host %q: %s", r.Host, e)
				}
			}
		default:
			if d.name == "" {
				c.add(d.source, "metadata.name is empty")
			}
		}
	}
}

func checkSelector(c *checker, where string, sel *metav1.LabelSelector, podLabels map[string]string) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		c.add(where, "spec.selector is empty")
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.add(where, "spec.selector: %v", err)
		return
	}
	if !s.Matches(labels.Set(podLabels)) {
		c.add(where, "spec.selector %s does not match the pod template's labels %v", s, podLabels)
	}
	checkLabels(c, where, podLabels)
}

func checkPod(c *checker, where string, pod *corev1.PodSpec) {
	if len(pod.Containers) == 0 {
		c.add(where, "the pod has no containers")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		for _, e := range validation.IsDNS1123Label(v.Name) {
			c.add(where, "volume name %q: %s", v.Name, e)
		}
		if volumes[v.Name] {
			c.add(where, "volume %q is declared twice", v.Name)
		}
		volumes[v.Name] = true
	}
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	names := map[string]bool{}
	for _, ct := range all {
		cw := fmt.Sprintf("%s: container %q", where, ct.Name)
		for _, e := range validation.IsDNS1123Label(ct.Name) {
			c.add(cw, "name: %s", e)
		}
		if names[ct.Name] {
			c.add(cw, "container name used twice")
		}
		names[ct.Name] = true
		if ct.Image == "" {
			c.add(cw, "image is empty")
		}
		ports := map[string]bool{}
		numbers := map[int32]bool{}
		for _, p := range ct.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				c.add(cw, "containerPort %d out of range", p.ContainerPort)
			}
			if p.Name != "" {
				for _, e := range validation.IsValidPortName(p.Name) {
					c.add(cw, "port name %q: %s", p.Name, e)
				}
				ports[p.Name] = true
			}
			numbers[p.ContainerPort] = true
		}
		envNames := map[string]bool{}
		for _, e := range ct.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				c.add(cw, "env %q: %s", e.Name, msg)
			}
			if envNames[e.Name] {
				c.add(cw, "env %q is set twice", e.Name)
			}
			envNames[e.Name] = true
			if e.Value != "" && e.ValueFrom != nil {
				c.add(cw, "env %q has both value and valueFrom", e.Name)
			}
		}
		mounts := map[string]bool{}
		for _, m := range ct.VolumeMounts {
			if !volumes[m.Name] {
				c.add(cw, "volumeMount %q names no volume of the pod", m.Name)
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				c.add(cw, "mountPath %q is not absolute", m.MountPath)
			}
			if mounts[m.MountPath] {
				c.add(cw, "mountPath %q is used twice", m.MountPath)
			}
			mounts[m.MountPath] = true
		}
		for kind, pr := range map[string]*corev1.Probe{"liveness": ct.LivenessProbe, "readiness": ct.ReadinessProbe, "startup": ct.StartupProbe} {
			if pr == nil {
				continue
			}
			handlers := 0
			if pr.HTTPGet != nil {
				handlers++
				checkPortRef(c, cw+" "+kind+"Probe", pr.HTTPGet.Port, ports, numbers)
				if !strings.HasPrefix(pr.HTTPGet.Path, "/") {
					c.add(cw, "%sProbe path %q is not absolute", kind, pr.HTTPGet.Path)
				}
			}
			if pr.TCPSocket != nil {
				handlers++
				checkPortRef(c, cw+" "+kind+"Probe", pr.TCPSocket.Port, ports, numbers)
			}
			if pr.Exec != nil {
				handlers++
				if len(pr.Exec.Command) == 0 {
					c.add(cw, "%sProbe exec has no command", kind)
				}
			}
			if pr.GRPC != nil {
				handlers++
			}
			if handlers != 1 {
				c.add(cw, "%sProbe must have exactly one handler, has %d", kind, handlers)
			}
			if kind == "liveness" && pr.SuccessThreshold > 1 {
				c.add(cw, "livenessProbe successThreshold must be 1")
			}
			if pr.TimeoutSeconds > 0 && pr.PeriodSeconds > 0 && pr.TimeoutSeconds > pr.PeriodSeconds {
				c.add(cw, "%sProbe timeoutSeconds %d exceeds periodSeconds %d", kind, pr.TimeoutSeconds, pr.PeriodSeconds)
			}
		}
		if r := ct.Resources; r.Limits != nil && r.Requests != nil {
			for name, limit := range r.Limits {
				if req, ok := r.Requests[name]; ok && req.Cmp(limit) > 0 {
					c.add(cw, "request of %s (%s) exceeds its limit (%s)", name, req.String(), limit.String())
				}
			}
		}
	}
}

func checkPortRef(c *checker, where string, port intstr.IntOrString, names map[string]bool, numbers map[int32]bool) {
	if port.Type == intstr.String {
		if !names[port.StrVal] {
			c.add(where, "port %q is not a named port of the container", port.StrVal)
		}
	} else if port.IntVal < 1 || port.IntVal > 65535 {
		c.add(where, "port %d out of range", port.IntVal)
	}
}

// podTemplate is a workload's pod labels and its containers' named and numbered ports.
type podTemplate struct {
	source string
	labels map[string]string
	ports  map[string]bool
	nums   map[int32]bool
	spec   *corev1.PodSpec
}

func crossCheck(c *checker, docs []doc) {
	var pods []podTemplate
	deployments := map[string]bool{}
	secrets := map[string]*corev1.Secret{}
	services := map[string]*corev1.Service{}
	for _, d := range docs {
		var tpl *corev1.PodTemplateSpec
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			tpl = &o.Spec.Template
			deployments[o.Name] = true
		case *batchv1.Job:
			tpl = &o.Spec.Template
		case *corev1.Secret:
			secrets[o.Name] = o
		case *corev1.Service:
			services[o.Name] = o
		}
		if tpl != nil {
			pt := podTemplate{source: d.source, labels: tpl.Labels, ports: map[string]bool{}, nums: map[int32]bool{}, spec: &tpl.Spec}
			for _, ct := range tpl.Spec.Containers {
				for _, p := range ct.Ports {
					if p.Name != "" {
						pt.ports[p.Name] = true
					}
					pt.nums[p.ContainerPort] = true
				}
			}
			pods = append(pods, pt)
		}
	}
	matching := func(sel labels.Selector) []podTemplate {
		var out []podTemplate
		for _, p := range pods {
			if sel.Matches(labels.Set(p.labels)) {
				out = append(out, p)
			}
		}
		return out
	}
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				continue
			}
			targets := matching(labels.SelectorFromSet(o.Spec.Selector))
			if len(targets) == 0 {
				c.add(d.source, "Service %q selects no pod template of these manifests (%v)", o.Name, o.Spec.Selector)
			}
			for _, t := range targets {
				for _, p := range o.Spec.Ports {
					tp := p.TargetPort
					if tp.Type == intstr.String && !t.ports[tp.StrVal] {
						c.add(d.source, "Service %q port %q targets %q, which pods of %s do not name", o.Name, p.Name, tp.StrVal, t.source)
					}
					if tp.Type == intstr.Int && tp.IntVal != 0 && !t.nums[tp.IntVal] {
						c.add(d.source, "Service %q port %q targets %d, which pods of %s do not declare", o.Name, p.Name, tp.IntVal, t.source)
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			if o.Spec.Selector == nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil {
				c.add(d.source, "selector: %v", err)
			} else if len(matching(sel)) == 0 {
				c.add(d.source, "PodDisruptionBudget %q selects no pod template of these manifests", o.Name)
			}
		case *monitoringv1.ServiceMonitor:
			// It must select a Service of these manifests that has every port its endpoints scrape, by name.
			sel, err := metav1.LabelSelectorAsSelector(&o.Spec.Selector)
			if err != nil {
				c.add(d.source, "selector: %v", err)
				continue
			}
			var selected []*corev1.Service
			for _, svc := range services {
				if sel.Matches(labels.Set(svc.Labels)) {
					selected = append(selected, svc)
				}
			}
			if len(selected) == 0 {
				c.add(d.source, "ServiceMonitor %q selects no Service of these manifests", o.Name)
			}
			for _, ep := range o.Spec.Endpoints {
				if ep.Port == "" {
					c.add(d.source, "ServiceMonitor %q: an endpoint without a named port", o.Name)
					continue
				}
				for _, svc := range selected {
					found := false
					for _, sp := range svc.Spec.Ports {
						found = found || sp.Name == ep.Port
					}
					if !found {
						c.add(d.source, "ServiceMonitor %q scrapes port %q, which Service %q does not have", o.Name, ep.Port, svc.Name)
					}
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := o.Spec.ScaleTargetRef
			if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || !deployments[ref.Name] {
				c.add(d.source, "HorizontalPodAutoscaler %q scales %s %s/%s, which is not a Deployment of these manifests", o.Name, ref.APIVersion, ref.Kind, ref.Name)
			}
		case *networkingv1.Ingress:
			for _, r := range o.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					if p.Backend.Service == nil {
						continue
					}
					svc, ok := services[p.Backend.Service.Name]
					if !ok {
						c.add(d.source, "Ingress path %s goes to Service %q, not in these manifests", p.Path, p.Backend.Service.Name)
						continue
					}
					found := false
					for _, sp := range svc.Spec.Ports {
						if (p.Backend.Service.Port.Name != "" && sp.Name == p.Backend.Service.Port.Name) || (p.Backend.Service.Port.Number != 0 && sp.Port == p.Backend.Service.Port.Number) {
							found = true
						}
					}
					if !found {
						c.add(d.source, "Ingress path %s names a port Service %q does not have", p.Path, svc.Name)
					}
				}
			}
		}
	}
	// Secrets the pods read: a Secret of these manifests must have every key they name; one that is not here is
	// expected to exist in the cluster (an existing secret), which cannot be checked offline.
	for _, p := range pods {
		checkSecretRefs(c, p, secrets)
	}
}

func checkSecretRefs(c *checker, p podTemplate, secrets map[string]*corev1.Secret) {
	has := func(name, key string) (bool, bool) {
		s, ok := secrets[name]
		if !ok {
			return false, false
		}
		_, inData := s.Data[key]
		_, inString := s.StringData[key]
		return true, inData || inString
	}
	for _, v := range p.spec.Volumes {
		if v.Secret == nil {
			continue
		}
		for _, item := range v.Secret.Items {
			if known, ok := has(v.Secret.SecretName, item.Key); known && !ok {
				c.add(p.source, "volume %q projects key %q, which Secret %q does not have", v.Name, item.Key, v.Secret.SecretName)
			}
		}
	}
	for _, ct := range append(append([]corev1.Container{}, p.spec.InitContainers...), p.spec.Containers...) {
		for _, e := range ct.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			if known, ok := has(ref.Name, ref.Key); known && !ok && !optional {
				c.add(p.source, "env %s reads key %q, which Secret %q does not have", e.Name, ref.Key, ref.Name)
			}
		}
	}
}
