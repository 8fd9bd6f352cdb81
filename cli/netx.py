"""``import-netx`` and ``export-netx``: lava-dl netx HDF5 networks to and from NIR (docs/netx.md)."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, POSITIVE, emit, output_options
from s5rf_deploy.cli.graph_options import reading_options


@click.command("import-netx")
@click.argument("netx_file", type=INPUT)
@click.option("--dt", default=1.0, show_default=True, type=POSITIVE,
              help="Sampling period stored in the graph (netx has no time base; 1.0 = time in steps).")
@output_options(".nir file to write.")
@click.pass_context
def import_netx(ctx: click.Context, netx_file: str, dt: float, output: str) -> None:
    """Convert a lava-dl netx HDF5 network of dense CUBA layers to a NIR graph.

    \b
    Example:
      s5rf-deploy import-netx trained.net -o trained.nir
    """
    from s5rf_deploy.converters.netx import read_netx, to_graph
    from s5rf_deploy.converters.nir.export import write_nir
    from s5rf_deploy.graphs.network import to_nir
    from s5rf_deploy.timing import stage

    with stage(f"load {netx_file}"):
        net = read_netx(netx_file)
        graph = to_nir(to_graph(net, dt, netx_file))
    write_nir(graph, output)
    sizes = [layer.size for layer in net.layers]
    emit(ctx, {"output": output, "input_dim": net.input_dim, "layers": sizes, "dt": dt},
         f"wrote {output}: {len(sizes)} dense CUBA layers {sizes}, {net.input_dim} inputs, dt {dt:g}")


@click.command("export-netx")
@click.argument("model", type=INPUT)
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@reading_options(convention=False)
@output_options("netx HDF5 file to write.")
@click.pass_context
def export_netx(ctx: click.Context, model: str, dt: float | None, reading: dict, output: str) -> None:
    """Write MODEL (a NIR chain of LIF, IF or CubaLIF layers) as a lava-dl netx HDF5 network.

    S5-RF models (checkpoints, their NIR exports, fixed-point artifacts) are
    refused: netx's RF layers cannot express them; so are fixed-point graphs
    (export their float .nir instead).  See docs/netx.md.

    \b
    Example:
      s5rf-deploy export-netx snn.nir -o snn.net
    """
    from s5rf_deploy.converters.netx import write_netx
    from s5rf_deploy.tasks.convert import to_netx
    from s5rf_deploy.tasks.loading import load_any

    result = to_netx(load_any(model, dt=dt, **reading), dt)
    write_netx(result.network, output)
    fits = [{"node": f.node, "scale_exp": f.scale_exp, "exact": f.exact, "weight_error": f.weight_error,
             "threshold_error": f.threshold_error, "decay_error": f.decay_error} for f in result.fits]
    rows = "".join(f"\n  {f['node']}: x2^{f['scale_exp']}, " + ("exact" if f["exact"] else
                   f"weight error {f['weight_error']:.2g}, threshold error {f['threshold_error']:.2g}")
                   + f", decay error {f['decay_error']:.2g}" for f in fits)
    shift = f"; netx's spikes come {result.time_shift} steps after the graph's" if result.time_shift else ""
    emit(ctx, {"output": output, "layers": fits, "time_shift": result.time_shift},
         f"wrote {output}: {len(fits)} dense CUBA layers{shift}{rows}")
