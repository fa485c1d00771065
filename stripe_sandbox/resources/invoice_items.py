"""Invoice items: read-only here. Prorations (prorations.py) create them as pending items
(`invoice: null`) that the subscription's next invoice picks up.

GET /v1/invoiceitems filters by `customer`, `invoice` and `pending` ("Set to `true` to only show
pending invoice items, which are not yet attached to any invoices", the SDK's InvoiceItemListParams),
https://docs.stripe.com/api/invoiceitems/list
"""
from ..api import endpoint
from ..listing import PAGING, created_filter, page, render
from ..wire import boolean, fetch, reject_unknown, string


@endpoint("/invoiceitems")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "invoice", "pending", "created"})
    customer, invoice = string(params, "customer"), string(params, "invoice")
    pending, in_range = boolean(params, "pending"), created_filter(params)
    found = [i for i in sb.store.all("invoiceitem", customer)
             if (invoice is None or i["invoice"] == invoice)
             and (pending is None or (i["invoice"] is None) == pending) and in_range(i["date"])]
    return render(sb, page(found, params, "/v1/invoiceitems"), params)


@endpoint("/invoiceitems/<item_id>")
def retrieve(sb, params, item_id):
    return render(sb, fetch(sb, "invoiceitem", item_id, label="invoiceitem"), params)
